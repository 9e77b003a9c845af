// The MDS process: serves every MDT the MGS placed on it, one RPC endpoint, MDTs picked by fsname at connect.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../../lib/log.ts';
import { MgsClient } from '../protocol/mgs-client.ts';
import type { FileSystemConfig } from '../protocol/mgs-messages.ts';
import { registerLoop } from '../protocol/register-loop.ts';
import { RpcServer } from '../protocol/rpc-server.ts';
import { glimpseVia } from './glimpse.ts';
import { Mdt } from './mdt.ts';
import { mdtPath } from './mdt-server.ts';
import { punchVia } from './object-punch.ts';
import { ostSnapshotsVia } from './ost-snapshots.ts';
import { destroyVia, notReady, OssPool, ostInfos, resyncVia } from './ost-targets.ts';
import { refreshRootSquash, setRootSquash } from './root-squash.ts';
import { bindMdsHandlers } from './rpc-handlers.ts';
import type { Synchronous } from './schema.ts';

const log = logger('mds');

export interface MdsServiceOptions {
  dataDir: string;
  /** Stable name registered with the MGS; MDTs placed on this name are served here. */
  name: string;
  host: string;
  listen: { host: string; port: number };
  /** Address others dial, if not the listening one. */
  advertiseAddress?: string;
  mgsAddress: string;
  /** How often the MGS is asked which MDTs to serve (ms). Default 1000. */
  pollMs?: number;
  /** How often it registers with the MGS (ms). Default 3000. */
  registerIntervalMs?: number;
  graceMs?: number;
  synchronous?: Synchronous;
}

export interface MdsService {
  address: string;
  /** Locks held on each MDT served, by fsname (for metrics). */
  lockCounts(): Map<string, number>;
  /** Mirror copies the MDT of `fsname` has recorded stale and not resynced yet; undefined while it is not served here. */
  staleCount(fsname: string): number | undefined;
  close(): Promise<void>;
}

/**
 * Starts serving; MDTs appear as the MGS assigns file systems to this server and are closed and
 * removed when their file system is destroyed. A client connecting to an fsname not (yet) served
 * gets EAGAIN and retries.
 */
export async function startMdsService(opts: MdsServiceOptions): Promise<MdsService> {
  await mkdir(opts.dataDir, { recursive: true });
  const mgs = new MgsClient({ address: opts.mgsAddress, timeoutMs: 10_000 });
  const pool = new OssPool();
  const mdts = new Map<string, Mdt>();
  const server = new RpcServer('mds');
  bindMdsHandlers(
    server,
    (args) => {
      const fsname = typeof args['fsname'] === 'string' ? args['fsname'] : '';
      const mdt = mdts.get(fsname);
      if (!mdt) throw notReady(fsname);
      return mdt;
    },
    refreshRootSquash(mgs),
  );
  const listened = await server.listen(opts.listen);
  const address = opts.advertiseAddress ?? listened;
  const stop = new AbortController();
  const registering = registerLoop(
    mgs,
    { name: opts.name, role: 'mds', address, host: opts.host, capacityBytes: 0 },
    stop.signal,
    opts.registerIntervalMs !== undefined ? { intervalMs: opts.registerIntervalMs } : {},
  );

  const sync = async (configs: FileSystemConfig[]) => {
    const mine = configs.filter((c) => c.mdt.server === opts.name);
    for (const config of mine) {
      const served = mdts.get(config.fsname);
      if (served) setRootSquash(served, config.rootSquash);
      if (served) continue;
      const fsname = config.fsname;
      const mdt = await Mdt.open({
        path: mdtPath(opts.dataDir, fsname),
        fsname,
        osts: async () => ostInfos(await mgs.getConfig(fsname, AbortSignal.timeout(5_000))),
        destroyObjects: destroyVia(mgs, fsname, pool),
        resyncObject: resyncVia(mgs, fsname, pool),
        glimpse: glimpseVia(mgs, fsname, pool),
        punchObjects: punchVia(mgs, fsname, pool),
        ostSnapshots: ostSnapshotsVia(mgs, fsname, pool),
        replicas: config.replicas,
        defaultLayout: config.defaultLayout,
        ...(opts.graceMs !== undefined && { graceMs: opts.graceMs }),
        ...(opts.synchronous !== undefined && { synchronous: opts.synchronous }),
      });
      setRootSquash(mdt, config.rootSquash);
      mdts.set(fsname, mdt);
      log.info('serving MDT', { target: config.mdt.target, fsname });
    }
    for (const [fsname, mdt] of mdts) {
      if (mine.some((c) => c.fsname === fsname)) continue;
      mdts.delete(fsname);
      await mdt.close();
      await removeMdt(opts.dataDir, fsname);
      log.info('file system destroyed: MDT removed', { fsname });
    }
  };

  const polling = (async () => {
    let lastError = '';
    while (!stop.signal.aborted) {
      try {
        await sync(await mgs.listFileSystems(AbortSignal.any([stop.signal, AbortSignal.timeout(5_000)])));
        lastError = '';
      } catch (err) {
        // Log each distinct failure once, not every poll.
        if (!stop.signal.aborted && String(err) !== lastError)
          log.warn('cannot sync MDTs with the MGS', { error: String(err) });
        lastError = String(err);
      }
      await sleep(opts.pollMs ?? 1_000, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  })();

  log.info('MDS serving', { name: opts.name, address });
  return {
    address,
    lockCounts: () => new Map([...mdts].map(([fsname, mdt]) => [fsname, mdt.locks.count()])),
    staleCount: (fsname) => mdts.get(fsname)?.staleCount(),
    close: async () => {
      stop.abort();
      await Promise.all([registering, polling]);
      await server.close();
      for (const mdt of mdts.values()) await mdt.close();
      mgs.close();
      pool.close();
    },
  };
}

async function removeMdt(dataDir: string, fsname: string): Promise<void> {
  const db = mdtPath(dataDir, fsname);
  for (const suffix of ['', '-wal', '-shm']) await rm(`${db}${suffix}`, { force: true });
  // Snapshots of the MDT (point-in-time backups) go with it.
  const snapshots = `${basename(db)}.snapshot-`;
  for (const f of await readdir(dirname(db)))
    if (f.startsWith(snapshots)) await rm(join(dirname(db), f), { force: true });
}
