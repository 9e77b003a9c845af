// Wires `nacre node`: the CSI Identity and Node services on a unix socket, the mounters, the volume monitor, /healthz /readyz /metrics.
import { access, mkdir } from 'node:fs/promises';
import { Gauge, Registry } from 'prom-client';
import { type CommandRunner, ExecRunner } from '../lib/command-runner.ts';
import { logger } from '../lib/log.ts';
import { startOpsServer } from '../lib/ops-server.ts';
import { HolderClient } from './holder/holder-client.ts';
import { DRIVER_NAME, identityService } from './identity.ts';
import { FuseMounter, type KeeperCommand, LustreKernelMounter } from './node/mounter.ts';
import { procMountTable } from './node/mountinfo.ts';
import { nodeService } from './node/node-service.ts';
import { NodeState } from './node/node-state.ts';
import { startPluginRegistration } from './node/plugin-registration.ts';
import { SystemMounts } from './node/system-mounts.ts';
import { VolumeLocks } from './node/volume-locks.ts';
import { VolumeMonitor } from './node/volume-monitor.ts';
import { startCsiServer } from './server.ts';

export interface CsiNodeOptions {
  endpoint: string;
  nodeId: string;
  /** Per-volume records and FUSE keepers' state; must survive plugin restarts (a hostPath). */
  stateDir: string;
  /** The kubelet's directory (staging and target paths are under it; informational for now). */
  kubeletDir: string;
  /** /healthz, /readyz, /metrics; undefined: not served. */
  metricsAddress?: string;
  /**
   * Register the driver with the kubelet (its plugins_registry directory as this process sees it,
   * and the CSI socket as the kubelet sees it); undefined: something else registers it.
   */
  registration?: { dir: string; kubeletEndpoint: string };
  /** How to start `nacre fuse-keeper …` (built in cmd/, which knows where the CLI is). */
  keeperCommand: KeeperCommand;
  /** The mount holder's unix socket (nacre mount-holder): keepers are started there instead of by this process. */
  mountHolder?: string;
  runner?: CommandRunner;
  /** Volume health check interval (default 2 s). */
  monitorIntervalMs?: number;
  signal: AbortSignal;
}

/** Serves until `opts.signal` aborts; resolves with a function that stops everything it started (not the mounts). */
export async function startCsiNode(opts: CsiNodeOptions): Promise<{ close(): Promise<void> }> {
  const log = logger('csi-node');
  await mkdir(opts.stateDir, { recursive: true });
  const runner = opts.runner ?? new ExecRunner();
  const mountTable = procMountTable;
  const fuse = new FuseMounter({
    stateDir: opts.stateDir,
    keeperCommand: opts.keeperCommand,
    ...(opts.mountHolder !== undefined && { holder: new HolderClient(opts.mountHolder) }),
    mountTable,
  });
  const mounters = { emulated: fuse, aws: new LustreKernelMounter(runner) };
  const mounts = new SystemMounts({ runner, mountTable });
  const state = new NodeState(opts.stateDir);
  const locks = new VolumeLocks();
  const registry = new Registry();
  const volumes = new Gauge({
    name: 'nacre_node_volumes',
    help: 'staged volumes by health',
    labelNames: ['health'],
    registers: [registry],
  });
  const monitor = new VolumeMonitor({
    state,
    mounts,
    mountTable,
    mounters,
    keeperState: (p, signal) => fuse.keeperState(p, signal),
    locks,
    intervalMs: opts.monitorIntervalMs ?? 2_000,
    log,
    onPass: (healthy, unhealthy) => {
      volumes.set({ health: 'healthy' }, healthy);
      volumes.set({ health: 'unhealthy' }, unhealthy);
    },
  });
  const identity = identityService({
    controller: false,
    checks: [
      { name: 'state directory', check: () => access(opts.stateDir) },
      { name: '/dev/fuse', check: () => access('/dev/fuse') },
    ],
  });
  const node = nodeService({ nodeId: opts.nodeId, state, mounts, mountTable, mounters, monitor, locks, log });
  const server = await startCsiServer({ endpoint: opts.endpoint, identity, node, signal: opts.signal, log });
  const registration = opts.registration
    ? await startPluginRegistration({
        registrationDir: opts.registration.dir,
        driverName: DRIVER_NAME,
        kubeletEndpoint: opts.registration.kubeletEndpoint,
        signal: opts.signal,
      })
    : undefined;
  const ops = opts.metricsAddress
    ? await startOpsServer(opts.metricsAddress, registry, { notReady: () => undefined })
    : undefined;
  const stopMonitor = new AbortController();
  const monitoring = monitor.run(AbortSignal.any([opts.signal, stopMonitor.signal]));
  log.info('node plugin serving', {
    nodeId: opts.nodeId,
    endpoint: opts.endpoint,
    adopted: (await state.list()).length,
  });
  return {
    async close() {
      stopMonitor.abort();
      await monitoring.catch(() => undefined);
      await registration?.close();
      await server.close();
      await ops?.close();
    },
  };
}
