// Page caching under data locks: reads under PR, writes and truncates under PW of a file's whole-file lock; a revoked lock drains its I/O and has the kernel drop its pages before it is cancelled.
import { type Logger, logger } from '../../lib/log.ts';
import type { FileHandle, FileSystemClient } from '../types.ts';
import type { CacheLock, LockCache } from './lock-cache.ts';
import type { LustreClient } from './lustre-client.ts';
import { O_TRUNC } from './open-files.ts';

/** Invalidation passes a revocation makes while I/O keeps arriving under the revoked lock. */
const MAX_PASSES = 16;

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
 * until a pass saw no new call (calls that arrive during the revocation — the kernel's own
 * write-back among them — still run under the revoked lock, which the MDS keeps until the cancel:
 * waiting for a new lock there would deadlock on the pages the invalidation waits for). Then the
 * lock is cancelled and the other client's request is granted.
 */
export class DataLocks {
  readonly #locks: LockCache;
  readonly #dropPages: (ino: number) => Promise<void>;
  readonly #usage = new Map<number, Usage>();
  /** Inode → lock being revoked: calls on the inode meanwhile run under it. */
  readonly #revoking = new Map<number, CacheLock>();
  readonly #log: Logger = logger('lustre-client');

  constructor(locks: LockCache, dropPages: (ino: number) => Promise<void>) {
    this.#locks = locks;
    this.#dropPages = dropPages;
    locks.onRevoke((lock) => (lock.kind === 'data' ? this.#revoked(lock) : Promise.resolve()));
  }

  /** Runs `fn` under a data lock of at least `mode` on `ino` (EINTR if `signal` aborts while waiting for it). */
  async under<T>(ino: number, mode: 'PR' | 'PW', fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    // During a revocation every call rides the revoked lock, even a write under PR: the kernel holds
    // the call's pages locked, so waiting for a new lock would stall the invalidation that waits
    // for them (a write there lands before the cancel, so whoever is granted next reads it).
    const lock = this.#revoking.get(ino) ?? (await this.#locks.acquire({ ino, kind: 'data', mode }, signal));
    const u = this.#usage.get(lock.id) ?? { active: 0, started: 0, idle: [] };
    this.#usage.set(lock.id, u);
    u.active++;
    u.started++;
    try {
      return await fn();
    } finally {
      if (--u.active === 0) for (const resolve of u.idle.splice(0)) resolve();
    }
  }

  async #revoked(lock: CacheLock): Promise<void> {
    this.#revoking.set(lock.ino, lock);
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
      this.#revoking.delete(lock.ino);
      this.#usage.delete(lock.id);
    }
  }

  #idle(id: number): Promise<void> {
    const u = this.#usage.get(id);
    if (!u || u.active === 0) return Promise.resolve();
    return new Promise((resolve) => u.idle.push(resolve));
  }
}

/**
 * `client` with its reads, writes, truncates (setattr of the size, open with O_TRUNC) under data
 * locks; every other call passes through unchanged.
 */
export function withDataLocks(client: FileSystemClient, locks: DataLocks): FileSystemClient {
  const overrides: Partial<FileSystemClient> = {
    read: (h: FileHandle, offset, length, signal) =>
      locks.under(h.ino, 'PR', () => client.read(h, offset, length, signal), signal),
    write: (h: FileHandle, offset, data, signal) =>
      locks.under(h.ino, 'PW', () => client.write(h, offset, data, signal), signal),
    setattr: (cred, ino, changes, signal) =>
      changes.size === undefined
        ? client.setattr(cred, ino, changes, signal)
        : locks.under(ino, 'PW', () => client.setattr(cred, ino, changes, signal), signal),
    open: (cred, ino, flags, signal) =>
      (flags & O_TRUNC) === 0
        ? client.open(cred, ino, flags, signal)
        : locks.under(ino, 'PW', () => client.open(cred, ino, flags, signal), signal),
  };
  return new Proxy(client, {
    get(target, prop, receiver) {
      const own = overrides[prop as keyof FileSystemClient];
      if (own) return own;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** A mount's client that caches pages under data locks (the kernel's pages dropped through `client`'s invalidate listeners). */
export function cachingClient(client: LustreClient): FileSystemClient {
  if (!client.locks)
    throw new Error('cachingClient needs a client with cache locks (connectLustre makes one)');
  client.cachePagesUnderLocks();
  return withDataLocks(client, new DataLocks(client.locks, (ino) => client.dropCache(ino)));
}
