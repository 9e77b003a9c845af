// `nacre server --role mgs|mds|oss|api`: one server process of the emulated file system.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { ValidationError } from '../../src/lib/errors.ts';
import { logger } from '../../src/lib/log.ts';
import { announceReady, onShutdown, STOP_ON_STDIN_EOF } from '../../src/lib/supervisor.ts';
import type { ServerMetrics } from '../../src/lustre/cluster/server-metrics.ts';
import { PLACEMENTS, type Placement, placementLayout } from '../../src/lustre/mds/placement.ts';
import { addressOption, defaultHost, intOption, listenOption, sizeOption } from './options.ts';

interface ServerOptions {
  role: 'mgs' | 'mds' | 'oss' | 'api';
  dataDir: string;
  listen: { host: string; port: number };
  advertise?: string;
  mgs?: string;
  name?: string;
  host: string;
  capacity?: number;
  unixSocket?: string;
  region: string;
  accountId: string;
  mountHost?: string;
  capacityScale?: number;
  placement: Placement;
  metricsAddress?: string;
  bandwidth?: number;
  s3Endpoint?: string;
  s3Region?: string;
  s3EventsListen?: { host: string; port: number };
  s3NotificationArn?: string;
  s3ListingInterval?: number;
  s3RestoreBy: 'oss' | 'agent';
  s3ExportBy: 'oss' | 'agent';
}

export function registerServer(program: Command): void {
  program
    .command('server')
    .description(
      'run one server of the emulated file system (prints a JSON ready line on stdout when serving)',
    )
    .addOption(
      new Option('--role <role>', 'which server').choices(['mgs', 'mds', 'oss', 'api']).makeOptionMandatory(),
    )
    .requiredOption('--data-dir <dir>', 'where this server keeps its data')
    .option(
      '--listen <host:port>',
      'address to listen on (port 0 picks one)',
      listenOption,
      listenOption('127.0.0.1:0'),
    )
    .option(
      '--advertise <host:port>',
      'address other processes dial, if not the listening one',
      addressOption,
    )
    .option('--mgs <host:port>', 'the MGS (required for mds, oss and api)', addressOption)
    .option('--name <name>', 'stable server name registered with the MGS (default <role>-<hostname>)')
    .option('--host <node>', 'the node this server runs on, for local-first placement', defaultHost())
    .option('--capacity <size>', 'oss: space this server may give to OSTs (default: free disk)', sizeOption)
    .option('--unix-socket <path>', 'oss: also serve clients on this host over a unix socket')
    .option('--bandwidth <size>', 'oss: bytes per second each OST may move (benchmarks)', sizeOption)
    .option('--region <region>', 'api: the Region callers sign for', 'us-east-1')
    .option('--account-id <id>', 'api: the 12-digit account id of ARNs', '123456789012')
    .option(
      '--mount-host <host:port>',
      'api: MGS address clients mount (DNSName of file systems; default --mgs)',
    )
    .option('--capacity-scale <bytes>', 'api: emulated bytes per FSx GiB (default 1 MiB)', sizeOption)
    .addOption(
      new Option('--placement <mode>', "api: new files' stripes on the writer's node first, or round-robin")
        .choices(PLACEMENTS)
        .default('spread'),
    )
    .option('--s3-endpoint <url>', 'api: the S3 server of data repositories, path-style (default: AWS S3)')
    .option('--s3-region <region>', 'api: the Region of S3 requests (default --region)')
    .option(
      '--s3-events-listen <host:port>',
      'api: serve the webhook S3 bucket notifications are sent to',
      listenOption,
    )
    .option(
      '--s3-notification-arn <arn>',
      'api: queue ARN bucket notifications name (e.g. arn:minio:sqs::nacre:webhook)',
    )
    .option(
      '--s3-listing-interval <ms>',
      'api: automatic import lists the bucket this often as a fallback (0: never)',
      intOption,
    )
    .addOption(
      new Option(
        '--s3-restore-by <who>',
        "api: who GETs released files' bytes from S3: the OSSes (GETs the api presigns; the OSSes must reach the S3 endpoint) or the api's HSM agent itself",
      )
        .choices(['oss', 'agent'])
        .default('oss'),
    )
    .addOption(
      new Option(
        '--s3-export-by <who>',
        "api: who PUTs the parts of large files to S3 on export: the OSSes (UploadParts the api presigns; the OSSes must reach the S3 endpoint) or the api's HSM agent itself",
      )
        .choices(['oss', 'agent'])
        .default('oss'),
    )
    .option(
      '--metrics-address <host:port>',
      'serve /healthz, /readyz and /metrics here (default: not served)',
    )
    .addHelpText(
      'after',
      '\nThe api role reads its access keys from NACRE_FSX_ACCESS_KEY_ID and NACRE_FSX_SECRET_ACCESS_KEY.',
    )
    .action(async (opts: ServerOptions) => {
      const name = opts.name ?? `${opts.role}-${hostname()}`;
      // prom-client and the ops server are loaded only when metrics are served.
      const metrics = opts.metricsAddress
        ? (await import('../../src/lustre/cluster/server-metrics.ts')).createServerMetrics(opts.role, name)
        : undefined;
      let serving = false;
      const ops =
        metrics && opts.metricsAddress
          ? await (await import('../../src/lib/ops-server.ts')).startOpsServer(
              opts.metricsAddress,
              metrics.registry,
              {
                notReady: () => (serving ? undefined : `the ${opts.role} server is starting`),
              },
            )
          : undefined;
      if (ops) logger(opts.role).info('serving /healthz, /readyz and /metrics', { address: ops.address });
      let stop: () => Promise<void>;
      try {
        stop = await startRole(opts, metrics);
      } catch (err) {
        await ops?.close();
        metrics?.close();
        throw err;
      }
      serving = true;
      onShutdown(
        async () => {
          await stop();
          await ops?.close();
          metrics?.close();
        },
        { watchStdin: process.env[STOP_ON_STDIN_EOF] === '1' },
      );
    });
}

async function startRole(opts: ServerOptions, metrics?: ServerMetrics): Promise<() => Promise<void>> {
  const name = opts.name ?? `${opts.role}-${hostname()}`;
  const needMgs = () => {
    if (!opts.mgs) throw new ValidationError(`--mgs is required for --role ${opts.role}`);
    return opts.mgs;
  };
  if (opts.role === 'api') return startApi(opts, needMgs(), metrics);
  const { startServerInProcess } = await import('../../src/lustre/cluster/servers.ts');
  const s = await startServerInProcess({
    role: opts.role,
    name,
    dataDir: opts.dataDir,
    listen: opts.listen,
    host: opts.host,
    ...(opts.role !== 'mgs' && { mgsAddress: needMgs() }),
    ...(opts.advertise !== undefined && { advertiseAddress: opts.advertise }),
    ...(opts.role === 'oss' && opts.unixSocket !== undefined && { unixSocket: opts.unixSocket }),
    ...(opts.role === 'oss' && opts.capacity !== undefined && { capacityBytes: opts.capacity }),
    ...(opts.role === 'oss' && opts.bandwidth !== undefined && { bandwidthBytesPerSec: opts.bandwidth }),
  });
  announceReady({
    role: opts.role,
    ...(opts.role !== 'mgs' && { name }),
    address: s.address,
    ...(s.localAddress && { localAddress: s.localAddress }),
  });
  if (s.lockCounts) metrics?.watchLocks(s.lockCounts);
  if (s.statTargets) metrics?.watchOsts(s.statTargets);
  return () => s.close();
}

async function startApi(
  opts: ServerOptions,
  mgsAddress: string,
  metrics?: ServerMetrics,
): Promise<() => Promise<void>> {
  const accessKeyId = process.env['NACRE_FSX_ACCESS_KEY_ID'];
  const secret = process.env['NACRE_FSX_SECRET_ACCESS_KEY'];
  if (!accessKeyId || !secret) {
    throw new ValidationError('set NACRE_FSX_ACCESS_KEY_ID and NACRE_FSX_SECRET_ACCESS_KEY for the api role');
  }
  const { MgsTargetAllocator, startFsxApi } = await import('../../src/fsx/server/fsx-server.ts');
  const { connectLustre } = await import('../../src/lustre/client/lustre-client.ts');
  const { S3ObjectStore } = await import('../../src/platform/s3-object-store.ts');
  const { S3Repositories } = await import('../../src/fsx/server/s3-repositories.ts');
  const { startS3EventServer } = await import('../../src/fsx/server/s3-event-server.ts');
  if (opts.s3Endpoint !== undefined && !/^https?:\/\/[^/]+\/?$/.test(opts.s3Endpoint))
    throw new ValidationError(`--s3-endpoint ${opts.s3Endpoint} must be an http(s)://host[:port] URL`);
  const store = new S3ObjectStore({
    region: opts.s3Region ?? opts.region,
    presignUploads: opts.s3ExportBy === 'oss',
    ...(opts.s3Endpoint !== undefined && { endpoint: opts.s3Endpoint }),
  });
  const repositories = new S3Repositories({
    store,
    connect: (fsname, signal) => connectLustre({ mgsAddress, fsname, host: opts.host, signal }),
    ...(opts.s3NotificationArn !== undefined && { notificationArn: opts.s3NotificationArn }),
    ...(opts.s3ListingInterval !== undefined && { listingIntervalMs: opts.s3ListingInterval }),
    ...(metrics && { onExportParked: metrics.exportParked }),
    restore: { ossFetch: opts.s3RestoreBy === 'oss' },
  });
  const events = opts.s3EventsListen
    ? await startS3EventServer({ listen: opts.s3EventsListen, onEvents: (b) => repositories.handleEvents(b) })
    : undefined;
  const api = await startFsxApi({
    dataDir: opts.dataDir,
    listen: opts.listen,
    region: opts.region,
    accountId: opts.accountId,
    credentials: { [accessKeyId]: secret },
    mgs: new MgsTargetAllocator(mgsAddress, { defaultLayout: placementLayout(opts.placement) }),
    mountHost: opts.mountHost ?? mgsAddress,
    backupDir: join(opts.dataDir, 'backups'),
    connectClient: (fsname, signal) => connectLustre({ mgsAddress, fsname, host: opts.host, signal }),
    repositories,
    ...(opts.capacityScale !== undefined && { capacityScale: opts.capacityScale }),
    ...(metrics && { onRequest: metrics.fsxRequest }),
  });
  announceReady({ role: 'api', address: api.endpoint, endpoint: api.endpoint, region: opts.region });
  return async () => {
    await events?.close();
    await api.close();
    await repositories.close();
    store.close();
  };
}
