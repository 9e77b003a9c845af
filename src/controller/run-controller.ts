// `nacre controller`: wires the kube and FSx edges, the four reconcile loops, leader election and the ops HTTP server.
import { type FileSystem, GROUP, VERSION } from '../api/index.ts';
import { logger } from '../lib/log.ts';
import { startOpsServer } from '../lib/ops-server.ts';
import { CustomResourceClient, loadKubeConfig } from '../platform/kube.ts';
import { KubeEventRecorder, KubeLeaseStore, readSecret } from '../platform/kube-core.ts';
import { BackendRegistry } from './backends.ts';
import { backupReconciler } from './backup-reconciler.ts';
import { associationReconciler, taskReconciler } from './data-repository-reconcilers.ts';
import { fileSystemReconciler } from './file-system-reconciler.ts';
import { defaultIdentity, LeaderElector } from './leader-election.ts';
import { type ControllerMetrics, createMetrics } from './metrics.ts';
import { ReconcileLoop, type Reconciler } from './reconcile-loop.ts';
import type { ReconcileContext } from './reconcile-support.ts';

export interface ControllerOptions {
  /** Path of a kubeconfig; default: KUBECONFIG, ~/.kube/config, then in-cluster. */
  kubeconfig?: string;
  /** Watch only this namespace (default: all). */
  namespace?: string;
  /** Backend of resources that do not name one. */
  defaultBackend: 'aws' | 'emulated';
  /** The emulated backend's FSx API; without it, emulated resources report BackendUnavailable. */
  emulator?: {
    endpoint: string;
    region: string;
    credentialsSecret?: string;
    accessKeyId?: string;
    secretAccessKey?: string;
    subnetID?: string;
  };
  /** Region of the aws backend (default: the SDK's chain). */
  awsRegion?: string;
  /** Reconcile workers per kind (default 4). */
  workers?: number;
  /** host:port of /healthz, /readyz and /metrics (default 0.0.0.0:8080). */
  metricsAddress?: string;
  /** Campaign for a Lease before reconciling (default true), so replicas can run side by side. */
  leaderElection?: boolean;
  /** Namespace of the Lease and of the emulator credentials Secret (default nacre-system). */
  podNamespace?: string;
  leaseName?: string;
  identity?: string;
  /** Requeue delay while the backend works (default 10 s). */
  pollIntervalMs?: number;
  /** Requeue delay of failed or waiting resources (default 5 min). */
  slowPollMs?: number;
  /** Every object is reconciled again this often (default 10 min). */
  resyncMs?: number;
  /** Lease timings (defaults 15 s, 10 s, 2 s). */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  signal: AbortSignal;
}

export interface RunningController {
  /** host:port the ops server listens on. */
  metricsAddress: string;
  identity: string;
  isLeader(): boolean;
  metrics: ControllerMetrics;
  /** Settles when the controller has stopped (after `signal` aborts). */
  done: Promise<void>;
}

const KINDS = [
  ['FileSystem', 'filesystems'],
  ['Backup', 'backups'],
  ['DataRepositoryAssociation', 'datarepositoryassociations'],
  ['DataRepositoryTask', 'datarepositorytasks'],
] as const;

/** Starts the controller and resolves once it serves /healthz; see `done` for its end. */
export async function startController(opts: ControllerOptions): Promise<RunningController> {
  const log = logger('controller');
  const kc = loadKubeConfig(opts.kubeconfig);
  const metrics = createMetrics();
  const podNamespace = opts.podNamespace ?? 'nacre-system';
  const e = opts.emulator;
  const backends = new BackendRegistry({
    ...(opts.awsRegion ? { aws: { region: opts.awsRegion } } : {}),
    ...(e
      ? {
          emulator: {
            endpoint: e.endpoint,
            region: e.region,
            secretNamespace: podNamespace,
            ...(e.accessKeyId !== undefined ? { accessKeyId: e.accessKeyId } : {}),
            ...(e.secretAccessKey !== undefined ? { secretAccessKey: e.secretAccessKey } : {}),
            ...(e.credentialsSecret !== undefined ? { credentialsSecret: e.credentialsSecret } : {}),
            ...(e.subnetID !== undefined ? { defaultSubnetId: e.subnetID } : {}),
          },
        }
      : {}),
    readSecret: (ns, name, signal) => readSecret(kc, ns, name, signal),
    onCall: (backend, operation, outcome, seconds) => {
      metrics.fsxCalls.inc({ backend, operation, outcome });
      metrics.fsxCallSeconds.observe({ backend, operation }, seconds);
    },
  });
  const ctx: ReconcileContext = {
    backends,
    defaultBackend: opts.defaultBackend,
    events: new KubeEventRecorder(kc, 'nacre-controller'),
    log,
    now: () => new Date(),
    pollMs: opts.pollIntervalMs ?? 10_000,
    slowPollMs: opts.slowPollMs ?? 5 * 60_000,
  };
  const client = <T extends object>(plural: string) =>
    new CustomResourceClient<T>(kc, { group: GROUP, version: VERSION, plural });
  const fileSystems = client<FileSystem>('filesystems');
  const reconcilers: Record<(typeof KINDS)[number][0], Reconciler> = {
    FileSystem: fileSystemReconciler(ctx, fileSystems),
    Backup: backupReconciler(ctx, client('backups'), fileSystems),
    DataRepositoryAssociation: associationReconciler(ctx, client('datarepositoryassociations'), fileSystems),
    DataRepositoryTask: taskReconciler(ctx, client('datarepositorytasks'), fileSystems),
  };

  let leading = false;
  let synced = false;
  const lead = async (signal: AbortSignal): Promise<void> => {
    const loops = KINDS.map(
      ([kind, plural]) =>
        new ReconcileLoop({
          kind,
          source: client<object>(plural).informer(opts.namespace),
          reconcile: reconcilers[kind],
          workers: opts.workers ?? 4,
          log: logger('controller', { kind }),
          metrics,
          resyncMs: opts.resyncMs ?? 10 * 60_000,
        }),
    );
    try {
      await Promise.all(loops.map((l) => l.start()));
      synced = true;
      log.info('reconciling', { kinds: KINDS.map(([k]) => k), namespace: opts.namespace ?? '(all)' });
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', () => resolve(), { once: true });
      });
    } finally {
      synced = false;
      await Promise.all(loops.map((l) => l.stop(signal.reason)));
    }
  };

  const election = opts.leaderElection ?? true;
  const identity = opts.identity ?? defaultIdentity();
  const ops = await startOpsServer(opts.metricsAddress ?? '0.0.0.0:8080', metrics.registry, {
    notReady: () => (leading && !synced ? 'caches are not synced yet' : undefined),
  });
  log.info('serving /healthz, /readyz and /metrics', { address: ops.address, identity });
  const onLeading = (l: boolean) => {
    leading = l;
    metrics.leader.set(l ? 1 : 0);
  };
  const work = election
    ? new LeaderElector({
        store: new KubeLeaseStore(kc, podNamespace, opts.leaseName ?? 'nacre-controller'),
        identity,
        log,
        lead,
        onLeading,
        ...(opts.leaseDurationMs !== undefined ? { leaseDurationMs: opts.leaseDurationMs } : {}),
        ...(opts.renewDeadlineMs !== undefined ? { renewDeadlineMs: opts.renewDeadlineMs } : {}),
        ...(opts.retryPeriodMs !== undefined ? { retryPeriodMs: opts.retryPeriodMs } : {}),
      }).run(opts.signal)
    : (async () => {
        onLeading(true);
        await lead(opts.signal);
        onLeading(false);
      })();
  const done = work.finally(async () => {
    backends.close();
    await ops.close();
    log.info('stopped', { identity });
  });
  return { metricsAddress: ops.address, identity, isLeader: () => leading, metrics, done };
}

/** Runs the controller until `opts.signal` aborts and everything has stopped. */
export async function runController(opts: ControllerOptions): Promise<void> {
  const running = await startController(opts);
  await running.done;
}
