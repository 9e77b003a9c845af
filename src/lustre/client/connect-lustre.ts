// Connecting a client: the file system's config from the MGS, its MDS session, OST pool and caches wired together.
import { randomUUID } from 'node:crypto';
import { MgsClient } from '../protocol/mgs-client.ts';
import type { FileSystemConfig } from '../protocol/mgs-messages.ts';
import type { Attr, InvalidateEvent } from '../types.ts';
import type { LockReplay } from './held-locks.ts';
import { InodeCache } from './inode-cache.ts';
import { LockCache } from './lock-cache.ts';
import { MdsSession } from './mds-session.ts';
import { fetchConfig, mountError } from './mount-config.ts';
import { dialAddress, OstPool } from './ost-pool.ts';
import { StripedIo } from './striped-io.ts';

/** How long a (re)connect waits for the caches under the client's locks to be dropped (ms). */
const DROP_BEFORE_CONNECT_MS = 2_000;

/** What the client needs, built by connectLustre (or by tests). */
export interface LustreClientParts {
  clientId: string;
  config: FileSystemConfig;
  mds: MdsSession;
  pool: OstPool;
  io: StripedIo;
  inodes: InodeCache;
  /** The client's cache locks, fed the MDS's blocking callbacks. */
  locks?: LockCache;
  /** Closed with the client when given. */
  mgs?: MgsClient;
  /** A keeper-held mount's stable id, the same for every daemon of the mount (see ConnectLustreOptions). */
  mountId?: string;
}

export interface ConnectLustreOptions {
  /** "host:port" of the MGS. */
  mgsAddress: string;
  fsname: string;
  /** Stable id of this client on the MDS (locks and handles survive reconnects under it). Default: host and a random suffix. */
  clientId?: string;
  /**
   * A keeper-held mount's id, the same for every daemon the keeper starts: O_APPEND writes and
   * namespace changes carry it with the kernel's request id, so one the kernel resends to a new
   * daemon is not applied twice.
   */
  mountId?: string;
  /** The node this client runs on: servers on the same host are reached over their unix sockets. */
  host: string;
  signal?: AbortSignal;
  /** Deadline of mounting, and of each single server call afterwards (ms). Default 30 s. */
  timeoutMs?: number;
  /** How long metadata calls keep retrying while the MDS is away (ms). Default 60 s. */
  retryDeadlineMs?: number;
  /**
   * How long I/O waits for an OST none of whose copies answers (a restarting OSS) before EIO;
   * Infinity: for ever, like a hard mount. Default 0 (EIO at once).
   */
  recoveryMs?: number;
}

/** What connectClient needs of the client it builds: the MDS session's callbacks, a first getattr, close. */
export interface ConnectedClient {
  deliverInvalidate(event: InvalidateEvent): void;
  mdsConnected(): void;
  lockReplay(): LockReplay;
  getattr(ino: number, signal?: AbortSignal): Promise<Attr>;
}

/**
 * connectLustre's work, with the client built by `build` from the parts (so this module does not
 * import the client class): see connectLustre for what it resolves and rejects with.
 */
export async function connectClient<C extends ConnectedClient>(
  opts: ConnectLustreOptions,
  build: (parts: LustreClientParts) => C,
): Promise<C> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  const clientId = opts.clientId ?? `${opts.host}-${randomUUID().slice(0, 8)}`;
  const mgs = new MgsClient({ address: opts.mgsAddress, timeoutMs });
  let mds: MdsSession | undefined;
  let pool: OstPool | undefined;
  try {
    const config = await fetchConfig(mgs, opts.fsname, signal);
    let client: C | undefined;
    let locks: LockCache | undefined;
    const session = new MdsSession({
      address: dialAddress(config.mdt, opts.host),
      clientId,
      host: opts.host,
      fsname: opts.fsname,
      callTimeoutMs: timeoutMs,
      ...(opts.retryDeadlineMs !== undefined && { retryDeadlineMs: opts.retryDeadlineMs }),
      onInvalidate: (event) => client?.deliverInvalidate(event),
      onConnect: () => client?.mdsConnected(),
      onPush: (method, args) => void locks?.handlePush(method, args),
      beforeConnect: async () => locks?.lostWithin(DROP_BEFORE_CONNECT_MS),
      replay: () => client?.lockReplay() ?? { posix: [], flocks: [] },
      locate: async (s) => dialAddress((await mgs.getConfig(opts.fsname, s)).mdt, opts.host),
    });
    mds = session;
    pool = new OstPool({
      osts: config.osts,
      host: opts.host,
      timeoutMs,
      refresh: async (s) => (await mgs.getConfig(opts.fsname, s)).osts,
    });
    const inodes = new InodeCache((ino, end) => session.call('extendSize', { ino, end }));
    locks = new LockCache(session);
    client = build({
      clientId,
      ...(opts.mountId !== undefined && { mountId: opts.mountId }),
      config,
      mds,
      pool,
      io: new StripedIo(pool, {
        ...(opts.recoveryMs !== undefined && { recoveryMs: opts.recoveryMs }),
        markStale: async (ino, stripe, ost, s) =>
          void (await session.call('markStale', { ino, stripe, ost }, s)),
      }),
      inodes,
      locks,
      mgs,
    });
    await client.getattr(session.rootIno, signal);
    return client;
  } catch (err) {
    mds?.close();
    pool?.close();
    mgs.close();
    throw mountError(err, opts, deadline.aborted, timeoutMs);
  }
}
