// `nacre controller`: the operator reconciling FileSystem, DataRepositoryAssociation, DataRepositoryTask and Backup.
import { hostname } from 'node:os';
import { type Command, Option } from 'commander';

interface ControllerFlags {
  kubeconfig?: string;
  namespace?: string;
  defaultBackend: 'aws' | 'emulated';
  emulatorEndpoint?: string;
  emulatorRegion: string;
  emulatorSecret?: string;
  awsRegion?: string;
  workers: number;
  metricsAddress: string;
  leaderElection: boolean;
  podNamespace: string;
  csiEndpoint?: string;
}

export function registerController(program: Command): void {
  program
    .command('controller')
    .description(
      'run the operator: FileSystem, DataRepositoryAssociation, DataRepositoryTask and Backup resources',
    )
    .option('--kubeconfig <path>', 'kubeconfig (default: KUBECONFIG, ~/.kube/config, then in-cluster)')
    .option('--namespace <ns>', 'watch only this namespace (default: all)')
    .addOption(
      new Option('--default-backend <backend>', 'backend of resources that name none')
        .choices(['aws', 'emulated'])
        .default('emulated'),
    )
    .option('--emulator-endpoint <url>', "the emulator's FSx API, e.g. http://nacre-api.nacre-system:9000")
    .option('--emulator-region <region>', 'Region the emulator signs for', 'us-east-1')
    .option('--emulator-secret <name>', 'Secret with accessKeyId and secretAccessKey for the emulator')
    .option('--aws-region <region>', 'Region of the aws backend (default: the SDK chain)')
    .option('--workers <n>', 'reconcile workers per kind', (v) => Number(v), 4)
    .option('--metrics-address <host:port>', '/healthz, /readyz and /metrics', '0.0.0.0:8080')
    .option('--no-leader-election', 'reconcile without holding the Lease (one replica only)')
    .option('--pod-namespace <ns>', 'namespace of the Lease and the emulator Secret', 'nacre-system')
    .option(
      '--csi-endpoint <unix:///path>',
      'also serve the CSI Identity and Controller services (driver csi.nacre.dev) on this unix socket',
    )
    .action(async (f: ControllerFlags) => {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      const accessKeyId = process.env['NACRE_FSX_ACCESS_KEY_ID'];
      const secretAccessKey = process.env['NACRE_FSX_SECRET_ACCESS_KEY'];
      const podNamespace = process.env['POD_NAMESPACE'] ?? f.podNamespace;
      // The Kubernetes client, gRPC and the AWS SDKs are loaded by this command only.
      const csi =
        f.csiEndpoint === undefined
          ? undefined
          : await (await import('../../src/csi/run-csi-controller.ts')).startCsiController({
              endpoint: f.csiEndpoint,
              namespace: podNamespace,
              signal: stop.signal,
              ...(f.kubeconfig !== undefined && { kubeconfig: f.kubeconfig }),
            });
      const { runController } = await import('../../src/controller/run-controller.ts');
      await runController({
        defaultBackend: f.defaultBackend,
        workers: f.workers,
        metricsAddress: f.metricsAddress,
        leaderElection: f.leaderElection,
        podNamespace,
        identity: process.env['POD_NAME'] ?? hostname(),
        signal: stop.signal,
        ...(f.kubeconfig !== undefined && { kubeconfig: f.kubeconfig }),
        ...(f.namespace !== undefined && { namespace: f.namespace }),
        ...(f.awsRegion !== undefined && { awsRegion: f.awsRegion }),
        ...(f.emulatorEndpoint !== undefined && {
          emulator: {
            endpoint: f.emulatorEndpoint,
            region: f.emulatorRegion,
            ...(f.emulatorSecret !== undefined && { credentialsSecret: f.emulatorSecret }),
            ...(accessKeyId !== undefined && { accessKeyId }),
            ...(secretAccessKey !== undefined && { secretAccessKey }),
          },
        }),
      });
      await csi?.close();
    });
}
