// Page caching under data locks: reads under PR, writes and truncates under PW of a file's whole-file lock; a revoked lock drains its I/O and has the kernel drop its pages before it is cancelled.
import { type Logger, logger } from '../../lib/log.ts';
import type { FileHandle, FileSystemClient } from '../types.ts';
import type { CacheLock, LockCache } from './lock-cache.ts';
import type { LustreClient } from './lustre-client.ts';
import { O_TRUNC } from './open-files.ts';
import { overrideClient } from './override-client.ts';

/** Invalidation passes a revocation makes while I/O keeps arriving under the revoked lock. */
const MAX_PASSES = 16;

/**
 * What a call may hold in the kernel while it waits for the daemon. `pages`: page-cache folios
 * locked or under write-back (a READ, a write-back WRITE): a revocation's invalidation waits for
 * them, so such a call never waits for that revocation. `writeback`: the kernel holds the inode's
 * write-back back until the reply (a truncate, fallocate), so the call waits for a revocation only
 * when the revoked lock does not cover it (its invalidation may wait for that write-back if the
 * inode has dirty shared-mmap pages). `none`: nothing the invalidation waits for (a direct write).
 */
export type Holds = 'pages' | 'writeback' | 'none';

interface Revocation {
  lock: CacheLock;
  done: Promise<void>;
}

interface Usage {
  /** Calls in flight under the lock. */
  active: number;
  /** Calls started under the lock so far. */
  started: number;
  idle: (() => void)[];
}

/**
 * Lets a mount keep file data in the kernel's page cache, coherently across clients. Every read
 * runs under a PR data lock on its inode and every write or truncate under PW (taken from the MDS
 * on first use, then kept until another client's conflicting request revokes it). The kernel only
 * caches pages a read or write brought in, so pages exist only under a lock. When a lock is
 * revoked, `dropPages` (the FUSE layer's NOTIFY_INVAL_INODE, which writes dirty mmap pages back
 * before it drops them) runs, the calls still in flight under the lock finish, and this repeats
 * until a pass saw no new call. Calls that hold pages (`Holds`) and arrive during the revocation —
 * buffered reads, the kernel's own write-back — run under the revoked lock, which the MDS keeps
 * until the cancel (waiting for a new lock there would deadlock on the pages the invalidation
 * waits for); a page-holding call already waiting for a lock when the revocation starts stops
 * waiting and runs under it too. Every other call (direct writes, truncates) waits for the
 * revocation to end and takes a new lock, so no write lands under a lock that no longer excludes
 * the other clients' caches. Then the lock is cancelled and the other client's request is granted.
 *
 * `cachesPages` false (an uncached mount): reads take no lock — they go to the OSTs, which hold
 * every acknowledged write — and writes and truncates still take PW, so a caching mount elsewhere
 * drops its pages before such a write is acknowledged.
 */
export class DataLocks {
  readonly #locks: LockCache;
  readonly #dropPages: (ino: number) => Promise<void>;
  readonly #usage = new Map<number, Usage>();
  /** Inode → revocation in progress: page-holding calls on the inode meanwhile run under its lock. */
  readonly #revoking = new Map<number, Revocation>();
  /** Inode → wakes page-holding calls waiting for a lock when a revocation starts. */
  readonly #revocationStarts = new Map<number, Set<(r: Revocation) => void>>();
  /** Locks whose revocation has ended (checked synchronously before a call counts itself in). */
  readonly #cancelled = new WeakSet<CacheLock>();
  readonly cachesPages: boolean;
  readonly #log: Logger = logger('lustre-client');

  constructor(locks: LockCache, dropPages: (ino: number) => Promise<void>, opts?: { cachesPages?: boolean }) {
    this.#locks = locks;
    this.#dropPages = dropPages;
    this.cachesPages = opts?.cachesPages ?? true;
    locks.onRevoke((lock) => (lock.kind === 'data' ? this.#revoked(lock) : Promise.resolve()));
  }

  /**
   * Runs `fn` under a data lock of at least `mode` on `ino` (EINTR if `signal` aborts while
   * waiting for it). `holds`: what the call holds in the kernel meanwhile (see `Holds`).
   * `giveBackOnError`: if `fn` fails, the lock serves no later call and goes back to the MDS (in
   * the background: the kernel may hold write-back the invalidation waits for until this replies).
   */
  async under<T>(
    ino: number,
    mode: 'PR' | 'PW',
    fn: () => Promise<T>,
    signal?: AbortSignal,
    holds: Holds = 'pages',
    giveBackOnError = false,
  ): Promise<T> {
    let lock = await this.#lockFor(ino, mode, holds, signal);
    // Revoked and cancelled between its grant and now: this call must not run under it.
    while (this.#cancelled.has(lock)) lock = await this.#lockFor(ino, mode, holds, signal);
    const u = this.#usage.get(lock.id) ?? { active: 0, started: 0, idle: [] };
    this.#usage.set(lock.id, u);
    u.active++;
    u.started++;
    let failed = false;
    try {
      return await fn();
    } catch (err) {
      failed = giveBackOnError;
      throw err;
    } finally {
      if (--u.active === 0) for (const resolve of u.idle.splice(0)) resolve();
      if (failed) void this.#locks.giveBack(lock.id);
    }
  }

  async #lockFor(ino: number, mode: 'PR' | 'PW', holds: Holds, signal?: AbortSignal): Promise<CacheLock> {
    for (;;) {
      const r = this.#revoking.get(ino);
      if (!r) break;
      if (holds === 'pages' || (holds === 'writeback' && (mode === 'PR' || r.lock.mode === 'PW'))) {
        return r.lock;
      }
      await r.done;
    }
    const want = { ino, kind: 'data', mode } as const;
    if (holds !== 'pages') return await this.#locks.acquire(want, signal);
    // A page-holding call waiting for a lock must not outlive a revocation of this inode's lock
    // that starts meanwhile: the invalidation would wait for its pages, and its lock request may
    // be queued behind the very request that caused the revocation.
    const started = Promise.withResolvers<Revocation>();
    const waiters = this.#revocationStarts.get(ino) ?? new Set();
    waiters.add(started.resolve);
    this.#revocationStarts.set(ino, waiters);
    try {
      // If the revocation wins, the enqueue goes on: its lock, once granted, serves later calls.
      return await Promise.race([this.#locks.acquire(want, signal), started.promise.then((r) => r.lock)]);
    } finally {
      waiters.delete(started.resolve);
      if (waiters.size === 0) this.#revocationStarts.delete(ino);
    }
  }

  async #revoked(lock: CacheLock): Promise<void> {
    const done = Promise.withResolvers<void>();
    const revocation: Revocation = { lock, done: done.promise };
    this.#revoking.set(lock.ino, revocation);
    for (const wake of this.#revocationStarts.get(lock.ino) ?? []) wake(revocation);
    try {
      for (let pass = 1; ; pass++) {
        const before = this.#usage.get(lock.id)?.started ?? 0;
        await this.#dropPages(lock.ino);
        await this.#idle(lock.id);
        if ((this.#usage.get(lock.id)?.started ?? 0) === before) return;
        if (pass === MAX_PASSES) {
          this.#log.warn(
            'I/O kept arriving under a revoked data lock; cancelling it after a last invalidation',
            {
              ino: lock.ino,
              passes: pass,
            },
          );
          return;
        }
      }
    } finally {
      this.#cancelled.add(lock);
      if (this.#revoking.get(lock.ino) === revocation) this.#revoking.delete(lock.ino);
      this.#usage.delete(lock.id);
      done.resolve();
    }
  }

  #idle(id: number): Promise<void> {
    const u = this.#usage.get(id);
    if (!u || u.active === 0) return Promise.resolve();
    return new Promise((resolve) => u.idle.push(resolve));
  }
}

/**
 * `client` with its reads (when `locks` caches pages), writes, truncates (setattr of the size,
 * open with O_TRUNC) and fallocates under data locks; every other call passes through unchanged.
 */
export function withDataLocks(
  client: FileSystemClient,
  locks: DataLocks,
  beforeCaching?: (ino: number) => Promise<void>,
): FileSystemClient {
  const read = async (h: FileHandle, offset: number, length: number, signal?: AbortSignal) => {
    await beforeCaching?.(h.ino);
    return await client.read(h, offset, length, signal);
  };
  const overrides: Partial<FileSystemClient> = {
    ...(locks.cachesPages && {
      read: (h: FileHandle, offset: number, length: number, signal?: AbortSignal) =>
        locks.under(h.ino, 'PR', () => read(h, offset, length, signal), signal),
    }),
    write: (h: FileHandle, offset, data, signal, opts) =>
      locks.under(
        h.ino,
        'PW',
        () => client.write(h, offset, data, signal, opts),
        signal,
        opts?.fromPageCache ? 'pages' : 'none',
      ),
    // A truncate that fails may have left its cut pending on the MDS (applied there, the objects not
    // cut): its lock goes back, so this mount writes again only under a new grant, which the MDS
    // gives after finishing the cut (pw-grant.ts); under the kept lock the cut would come later,
    // over those writes.
    setattr: (cred, ino, changes, signal, opts) =>
      changes.size === undefined
        ? client.setattr(cred, ino, changes, signal, opts)
        : locks.under(
            ino,
            'PW',
            () => client.setattr(cred, ino, changes, signal, opts),
            signal,
            'writeback',
            true,
          ),
    open: (cred, ino, flags, signal, opts) =>
      (flags & O_TRUNC) === 0
        ? client.open(cred, ino, flags, signal, opts)
        : locks.under(
            ino,
            'PW',
            () => client.open(cred, ino, flags, signal, opts),
            signal,
            'writeback',
            true,
          ),
    fallocate: (h: FileHandle, mode, offset, length, signal) =>
      locks.under(h.ino, 'PW', () => client.fallocate(h, mode, offset, length, signal), signal, 'writeback'),
  };
  return overrideClient(client, overrides);
}

/**
 * A mount's client that caches pages under data locks (the kernel's pages dropped through
 * `client`'s invalidate listeners). `beforeCaching` runs before every read, whose reply the kernel
 * may cache (a keeper's daemon records the inode for its successor: fuse/page-journal.ts).
 */
export function cachingClient(
  client: LustreClient,
  beforeCaching?: (ino: number) => Promise<void>,
): FileSystemClient {
  if (!client.locks)
    throw new Error('cachingClient needs a client with cache locks (connectLustre makes one)');
  client.cachePagesUnderLocks();
  const locks = new DataLocks(client.locks, (ino) => client.dropCache(ino));
  return withDataLocks(client, locks, beforeCaching);
}

/**
 * An uncached mount's client: reads go to the OSTs without a lock, writes, truncates and
 * fallocates take PW, so mounts that cache elsewhere drop their pages before such a change is
 * acknowledged. A revocation still invalidates the kernel's copy (shared-mmap pages).
 */
export function lockingWritesClient(client: LustreClient): FileSystemClient {
  if (!client.locks)
    throw new Error('lockingWritesClient needs a client with cache locks (connectLustre makes one)');
  const locks = new DataLocks(client.locks, (ino) => client.dropCache(ino), { cachesPages: false });
  return withDataLocks(client, locks);
}
