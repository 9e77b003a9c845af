// The client's cache locks (mds/ldlm.ts): reuse of a held lock, and the answer to a blocking callback — drop the cache, then cancel.
import { FsError } from '../../lib/errors.ts';
import { type Logger, logger } from '../../lib/log.ts';
import type { MdsSession } from './mds-session.ts';

export interface CacheLock {
  id: number;
  ino: number;
  kind: 'ibits' | 'data';
  mode: 'PR' | 'PW';
  bits: number;
}

export type LockWant = Omit<CacheLock, 'id' | 'bits'> & { bits?: number };

/** Deadline of one lockEnqueue (ms): the MDS may wait for another client's cancel or eviction first. */
const ENQUEUE_TIMEOUT_MS = 30_000;
const CANCEL_TIMEOUT_MS = 10_000;
/** Callbacks for unknown lock ids remembered at most. */
const EARLY_MAX = 1024;

/** True when `held` lets its client cache what `want` asks for. */
export function covers(held: CacheLock, want: LockWant): boolean {
  if (held.ino !== want.ino || held.kind !== want.kind) return false;
  if (want.mode === 'PW' && held.mode !== 'PW') return false;
  return held.kind === 'data' || ((want.bits ?? 0) & ~held.bits) === 0;
}

/**
 * Locks this client holds. `acquire` returns a held lock that covers the request or enqueues one
 * (FsErrors of the MDS pass through; EINTR on abort). A `blockingAst` push for a held lock runs
 * every revoke listener — the holder writes back and drops what it caches under the lock, e.g.
 * the FUSE layer's NOTIFY_INVAL_INODE — and only then cancels the lock at the MDS, so the
 * conflicting request is granted after the cache is gone. A listener that fails is logged and the
 * lock is cancelled anyway (keeping it would only get this client evicted).
 */
export class LockCache {
  readonly #mds: MdsSession;
  readonly #held = new Map<number, CacheLock>();
  readonly #revoke: ((lock: CacheLock) => Promise<void>)[] = [];
  readonly #enqueuing = new Map<string, Promise<CacheLock>>();
  #recovering = false;
  /** Ids of locks called back before this client knew it held them. */
  readonly #early = new Set<number>();
  /** Ids of locks given back lately, which a reply sent before the callback may still name. */
  readonly #gone = new Set<number>();
  readonly #log: Logger = logger('lustre-client');

  constructor(mds: MdsSession) {
    this.#mds = mds;
  }

  onRevoke(listener: (lock: CacheLock) => Promise<void>): void {
    this.#revoke.push(listener);
  }

  /** Locks held on `ino`, or all of them. */
  held(ino?: number): CacheLock[] {
    return [...this.#held.values()].filter((l) => ino === undefined || l.ino === ino);
  }

  async acquire(want: LockWant, signal?: AbortSignal): Promise<CacheLock> {
    for (const l of this.#held.values()) if (covers(l, want)) return l;
    // Concurrent misses for the same lock share one enqueue.
    const key = `${want.ino}/${want.kind}/${want.mode}/${want.bits ?? 0}`;
    const pending = this.#enqueuing.get(key);
    const p = pending ?? this.#enqueue(want).finally(() => this.#enqueuing.delete(key));
    this.#enqueuing.set(key, p);
    if (!signal) return await p;
    signal.throwIfAborted();
    const interrupted = Promise.withResolvers<never>();
    const onAbort = () => interrupted.reject(new FsError('EINTR', 'lock request interrupted'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await Promise.race([p, interrupted.promise]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** One enqueue, bounded by its own deadline only: several callers may wait for it. */
  async #enqueue(want: LockWant): Promise<CacheLock> {
    const s = AbortSignal.timeout(ENQUEUE_TIMEOUT_MS);
    const args = {
      ino: want.ino,
      kind: want.kind,
      mode: want.mode,
      ...(want.bits !== undefined && { bits: want.bits }),
    };
    const { id } = await this.#mds.call('lockEnqueue', args, s);
    const lock: CacheLock = { id, ino: want.ino, kind: want.kind, mode: want.mode, bits: want.bits ?? 0 };
    this.#held.set(id, lock);
    if (this.#early.delete(id)) {
      // Called back before its grant reached us: the caller uses it once, then it goes back.
      setImmediate(() => void this.#blocking(id));
    }
    return lock;
  }

  /**
   * Takes on a lock the MDS granted with another call's reply (an UPDATE lock with lookup or
   * getattr). A callback that overtook the reply is honoured after the caller's use, as for an
   * enqueued lock.
   */
  adopt(lock: CacheLock): CacheLock {
    // Given back already (a callback handled before the reply that named it): not held.
    if (this.#gone.has(lock.id)) return lock;
    this.#held.set(lock.id, lock);
    if (this.#early.delete(lock.id)) setImmediate(() => void this.#blocking(lock.id));
    return lock;
  }

  /** Whether `id` is still held (a revoked lock is dropped from here before its cache is). */
  isHeld(id: number): boolean {
    return this.#held.has(id);
  }

  /** Gives a lock back of the client's own accord (after dropping what it cached under it). */
  async release(lock: CacheLock, signal?: AbortSignal): Promise<void> {
    if (!this.#held.delete(lock.id)) return;
    this.#forget(lock.id);
    await this.#mds.call('lockCancel', { id: lock.id }, signal ?? AbortSignal.timeout(CANCEL_TIMEOUT_MS));
  }

  /**
   * Gives lock `id` back as a blocking callback would: it stops serving new calls at once (before
   * this returns to its caller's next tick), its cache is dropped, then it is cancelled. Never rejects.
   */
  giveBack(id: number): Promise<void> {
    return this.#blocking(id);
  }

  /** Gives every lock back (the client is going away); failures are ignored: the MDS drops them at its eviction. */
  async releaseAll(signal?: AbortSignal): Promise<void> {
    await Promise.allSettled(this.held().map((l) => this.release(l, signal)));
  }

  /** Routes an MDS push; returns true if it was a blocking callback or an eviction (handled in the background). */
  handlePush(method: string, args: unknown): boolean {
    if (method === 'evicted') {
      void this.#evicted(args);
      return true;
    }
    if (method !== 'blockingAst') return false;
    const id = (args as { id?: unknown } | null)?.id;
    if (typeof id !== 'number') {
      this.#log.warn('ignoring a malformed blockingAst push', { args });
      return true;
    }
    if (this.#held.has(id)) void this.#blocking(id);
    else this.#rememberEarly(id);
    return true;
  }

  /**
   * A callback for a lock not held: either one this client gave back already, or a grant whose
   * reply has not arrived yet (the MDS may call a lock back as soon as it grants it). Remembered
   * for the reply; the oldest are forgotten beyond EARLY_MAX.
   */
  #rememberEarly(id: number): void {
    this.#early.add(id);
    if (this.#early.size > EARLY_MAX) this.#early.delete(this.#early.values().next().value!);
  }

  /** Forgets every lock without telling the MDS: after an eviction, the MDS dropped them already. */
  forgetAll(): CacheLock[] {
    const all = [...this.#held.values()];
    this.#held.clear();
    return all;
  }

  /**
   * The MDS no longer knows this client's locks (it reconnected: the MDS drops a client's locks at
   * every connect, and after an eviction): forgets them all and runs the revoke listeners for each,
   * so nothing stays cached under a lock that is gone. Nothing is cancelled at the MDS.
   */
  async lost(): Promise<void> {
    this.#early.clear(); // a restarted MDS numbers its locks from 1 again
    this.#gone.clear();
    await Promise.all(this.forgetAll().map((lock) => this.#dropCache(lock)));
  }

  /** The MDS evicted this client (it missed a callback): drop every cache, then connect again. */
  /**
   * `lost`, waiting at most `ms` (before a connect: an invalidation can wait for pages whose read
   * waits for that very connection; such a read gets a new lock once connected, so fresh data).
   */
  async lostWithin(ms: number): Promise<void> {
    if (this.#held.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    await Promise.race([this.lost(), bounded]);
    clearTimeout(timer);
  }

  async #evicted(args: unknown): Promise<void> {
    if (this.#recovering) return;
    this.#recovering = true;
    const reason = (args as { reason?: unknown } | null)?.reason;
    this.#log.warn(
      'evicted by the MDS: dropping cached data and reconnecting; calls fail with EIO until then',
      {
        reason: typeof reason === 'string' ? reason : undefined,
      },
    );
    try {
      await this.lost();
      for (let attempt = 1; ; attempt++) {
        try {
          await this.#mds.reconnect(AbortSignal.timeout(CANCEL_TIMEOUT_MS));
          this.#log.warn('reconnected to the MDS after an eviction');
          return;
        } catch (err) {
          if (this.#mds.closed) return;
          if (attempt >= 5) {
            this.#log.error('reconnecting after an eviction failed; the next connection drop retries', {
              error: String(err),
            });
            return;
          }
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
    } finally {
      this.#recovering = false;
    }
  }

  async #blocking(id: number): Promise<void> {
    const lock = this.#held.get(id);
    // Not held (any more): already cancelled on our own, or a callback that crossed a release.
    if (!lock) return;
    this.#held.delete(id);
    this.#forget(id);
    await this.#dropCache(lock);
    try {
      await this.#mds.call('lockCancel', { id }, AbortSignal.timeout(CANCEL_TIMEOUT_MS));
    } catch (err) {
      const why = err instanceof FsError ? err.code : String(err);
      this.#log.warn('cancelling a revoked lock failed; the MDS will evict this client', { id, error: why });
    }
  }

  #forget(id: number): void {
    this.#gone.add(id);
    if (this.#gone.size > EARLY_MAX) this.#gone.delete(this.#gone.values().next().value!);
  }

  async #dropCache(lock: CacheLock): Promise<void> {
    for (const l of this.#revoke) {
      try {
        await l(lock);
      } catch (err) {
        this.#log.error('dropping the cache under a revoked lock failed', {
          ino: lock.ino,
          error: String(err),
        });
      }
    }
  }
}
