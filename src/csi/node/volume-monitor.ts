// Watches staged volumes: probes each mount, reads its keeper's state, and remounts a dead mount whose keeper is gone too.
import type { Logger } from '../../lib/log.ts';
import type { KeeperStatus } from '../holder/holder-protocol.ts';
import type { Mounter } from './mounter.ts';
import { type MountTable, mountAt } from './mountinfo.ts';
import type { Backend, NodeState, VolumeRecord } from './node-state.ts';
import type { SystemMounts } from './system-mounts.ts';
import { VolumeLocks } from './volume-locks.ts';

export type Health =
  | { ok: true }
  | { ok: false; status: 'DEGRADED' | 'INACCESSIBLE'; reason: string; message: string; errno?: string };

export interface VolumeMonitorOptions {
  state: NodeState;
  mounts: SystemMounts;
  mountTable: MountTable;
  mounters: Record<Backend, Mounter>;
  /** The keeper's state of an emulated mount and whether its processes live (undefined: no keeper runs for it). */
  keeperState: (stagingPath: string, signal: AbortSignal) => Promise<KeeperStatus | undefined>;
  /** Pass between checks (default 2 s). */
  intervalMs?: number;
  log: Logger;
  /** Shared with the node service: a remount waits for a running call on the volume (e.g. an unstage). */
  locks?: VolumeLocks;
  /** Counts volumes by health after every pass (metrics). */
  onPass?: (healthy: number, unhealthy: number) => void;
}

/** A mount only a new mount can revive: its FUSE connection is gone and no keeper holds it. */
function deadWithoutKeeper(h: Health): boolean {
  return !h.ok && h.reason === 'MountDead' && h.errno === 'ENOTCONN';
}

/** Why a kept mount serves nothing, from its keeper's state alone: its daemon died (and the keeper runs) or is stopped. */
function notServing(path: string, k: KeeperStatus | undefined): Exclude<Health, { ok: true }> | undefined {
  if (!k?.keeperAlive) return undefined;
  const keeper = k.keeperStopped
    ? `its keeper (pid ${k.keeperPid}) is stopped: no daemon replaces it until the keeper runs again`
    : `its keeper (pid ${k.keeperPid}) is starting another`;
  if (!k.daemonAlive) {
    const daemon = k.daemonPid > 0 ? `the FUSE daemon (pid ${k.daemonPid})` : 'the FUSE daemon';
    const message = `${daemon} of ${path} died; ${keeper}`;
    return { ok: false, status: 'INACCESSIBLE', reason: 'DaemonRestarting', message };
  }
  if (k.daemonStopped) {
    const message = `${path} is not served: its FUSE daemon (pid ${k.daemonPid}) is stopped (SIGSTOP or a debugger); it answers once the daemon continues`;
    return { ok: false, status: 'INACCESSIBLE', reason: 'DaemonStopped', message };
  }
  return undefined;
}

/**
 * Health of staged volumes. An emulated mount whose FUSE daemon dies is restored in place by its
 * keeper (pods see a pause, not an error); this monitor reports it INACCESSIBLE until then. When the
 * keeper is gone too, nothing can revive that mount: the monitor mounts the volume again at its
 * staging path and binds it again into every published target (pods that hold the old mount must
 * be restarted; new ones get the fresh mount).
 */
export class VolumeMonitor {
  private readonly opts: VolumeMonitorOptions;
  private readonly locks: VolumeLocks;

  constructor(opts: VolumeMonitorOptions) {
    this.opts = opts;
    this.locks = opts.locks ?? new VolumeLocks();
  }

  /** Whether the staged mount answers statfs now. */
  async usable(rec: VolumeRecord, signal: AbortSignal): Promise<boolean> {
    return (await this.opts.mounts.probe(rec.stagingPath, signal)).ok;
  }

  /**
   * Why an emulated volume's mount serves nothing, from its keeper's state alone (no probe, so it
   * never waits on the mount): its daemon is dead or stopped. Undefined when its daemon runs, it
   * has no keeper, or it is not an emulated volume.
   */
  async unserved(rec: VolumeRecord, signal: AbortSignal): Promise<Exclude<Health, { ok: true }> | undefined> {
    if (rec.backend !== 'emulated') return undefined;
    return notServing(rec.stagingPath, await this.opts.keeperState(rec.stagingPath, signal));
  }

  async check(rec: VolumeRecord, signal: AbortSignal): Promise<Health> {
    const staged = mountAt(await this.opts.mountTable(signal), rec.stagingPath);
    if (!staged) {
      return {
        ok: false,
        status: 'INACCESSIBLE',
        reason: 'NotMounted',
        message: `nothing is mounted at ${rec.stagingPath}`,
      };
    }
    if (rec.backend !== 'emulated') {
      const probe = await this.opts.mounts.probe(rec.stagingPath, signal);
      return probe.ok
        ? { ok: true }
        : { ok: false, status: 'INACCESSIBLE', reason: 'MountFailing', message: probe.message };
    }
    // A daemon that is dead or stopped answers nothing: say so without a probe that would wait on it.
    const unserved = notServing(rec.stagingPath, await this.opts.keeperState(rec.stagingPath, signal));
    if (unserved) return unserved;
    const probe = await this.opts.mounts.probe(rec.stagingPath, signal);
    const keeper = await this.opts.keeperState(rec.stagingPath, signal);
    const keeperUp = keeper?.keeperAlive === true;
    if (!probe.ok) {
      const now = notServing(rec.stagingPath, keeper);
      if (now) return { ...now, message: `${probe.message}: ${now.message}` };
      const [reason, message] = !keeperUp
        ? ['MountDead', `${probe.message} (no keeper can restore it: the node plugin mounts it again)`]
        : [
            'NotResponding',
            `${probe.message} (its FUSE daemon, pid ${keeper.daemonPid}, runs: are the file system's servers reachable?)`,
          ];
      return probe.errno
        ? { ok: false, status: 'INACCESSIBLE', reason, message, errno: probe.errno }
        : { ok: false, status: 'INACCESSIBLE', reason, message };
    }
    if (!keeperUp) {
      return {
        ok: false,
        status: 'DEGRADED',
        reason: 'NoKeeper',
        message: `the mount at ${rec.stagingPath} works but has no keeper: a daemon crash would not be recovered in place`,
      };
    }
    return { ok: true };
  }

  /** Checks every staged volume every interval until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const interval = this.opts.intervalMs ?? 2_000;
    while (!signal.aborted) {
      let healthy = 0;
      let unhealthy = 0;
      for (const rec of await this.opts.state.list()) {
        try {
          const h = await this.check(rec, signal);
          if (h.ok) healthy++;
          else {
            unhealthy++;
            if (deadWithoutKeeper(h))
              await this.locks.run(rec.volumeId, () => this.restore(rec.volumeId, signal));
          }
        } catch (err) {
          if (signal.aborted) return;
          this.opts.log.warn('volume check failed', { volumeId: rec.volumeId, err: String(err) });
        }
      }
      this.opts.onPass?.(healthy, unhealthy);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, interval);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
    }
  }

  /** Mounts a dead volume again and binds it into its targets again, as its record says now (under the volume's lock). */
  private async restore(volumeId: string, signal: AbortSignal): Promise<void> {
    const { mounts, log } = this.opts;
    const rec = await this.opts.state.get(volumeId);
    if (!rec) return; // unstaged meanwhile
    if (!deadWithoutKeeper(await this.check(rec, signal))) return; // staged again meanwhile
    log.warn('a staged mount is dead and has no keeper: mounting it again', { volumeId: rec.volumeId });
    for (const target of Object.keys(rec.targets)) await mounts.unmount(target, signal);
    await mounts.unmount(rec.stagingPath, signal);
    const spec = { dnsName: rec.dnsName, mountName: rec.mountName, options: rec.options };
    await this.opts.mounters[rec.backend].mount(spec, rec.stagingPath, signal);
    for (const [target, t] of Object.entries(rec.targets)) {
      const source = t.subPath ? `${rec.stagingPath}/${t.subPath}` : rec.stagingPath;
      await mounts.bind(source, target, t.readOnly, signal);
    }
    log.info('volume mounted again', { volumeId: rec.volumeId, targets: Object.keys(rec.targets).length });
  }
}
