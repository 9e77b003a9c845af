// A lock manager in the spirit of Lustre's LDLM: cache locks granted to clients, blocking callbacks to holders, eviction of holders that do not answer.
import { FsError } from '../../lib/errors.ts';

/** Inode bits of metadata locks, as Lustre's MDS_INODELOCK_*: what a client may cache about an inode. */
export const IBITS = { LOOKUP: 1, UPDATE: 2, LAYOUT: 4, OPEN: 8 } as const;
export const ALL_IBITS = IBITS.LOOKUP | IBITS.UPDATE | IBITS.LAYOUT | IBITS.OPEN;

/** PR: protected read (shared, lets a client cache); PW: protected write (exclusive among clients). */
export type LockMode = 'PR' | 'PW';

/** What a lock covers: inode bits of an inode's metadata, or the inode's data (whole file). */
export type LockKind = 'ibits' | 'data';

export interface LockRequest {
  ino: number;
  kind: LockKind;
  mode: LockMode;
  /** ibits only: which of IBITS (non-zero). */
  bits?: number;
}

export interface Lock {
  readonly id: number;
  readonly client: string;
  readonly ino: number;
  readonly kind: LockKind;
  readonly mode: LockMode;
  readonly bits: number;
}

export interface LockManagerOptions {
  /**
   * Asks `lock.client` to give the lock up: write back what it caches under it, drop the cache and
   * cancel. Called once per lock; must not throw (a client that cannot be reached is evicted at
   * the deadline).
   */
  sendBlocking: (lock: Lock) => void;
  /** How long a holder has to cancel after a blocking callback before it is evicted (ms). */
  callbackTimeoutMs: number;
  /** A holder missed the deadline: its locks are already dropped; the caller cuts it off. */
  onEvict: (client: string, reason: string) => void;
}

/** True when locks `a` and `b` of different clients cannot both be held. */
export function conflicts(a: Omit<Lock, 'id'>, b: Omit<Lock, 'id'>): boolean {
  if (a.client === b.client || a.ino !== b.ino || a.kind !== b.kind) return false;
  if (a.mode === 'PR' && b.mode === 'PR') return false;
  return a.kind === 'data' || (a.bits & b.bits) !== 0;
}

interface Waiter {
  lock: Lock;
  undelivered: boolean;
  grant: (lock: Lock) => void;
  fail: (err: Error) => void;
}

/**
 * Grants locks on inodes to clients. A request that conflicts with locks of other clients makes
 * the manager send each such holder one blocking callback and wait for its cancel; a holder that
 * has not cancelled within `callbackTimeoutMs` is evicted (all its locks dropped, `onEvict`
 * called), so one dead client cannot stall the others. A client's own locks never conflict with
 * its requests. Waiters are granted in arrival order per inode. Cancelling an unknown lock is not
 * an error (it may have been dropped by an eviction).
 */
export class LockManager {
  readonly #o: LockManagerOptions;
  readonly #granted = new Map<number, Lock[]>();
  readonly #byId = new Map<number, Lock>();
  readonly #waiting = new Map<number, Waiter[]>();
  readonly #called = new Map<number, NodeJS.Timeout>();
  /** Granted locks whose holder has not been told yet (see `enqueue`) → whether a callback waits. */
  readonly #undelivered = new Map<number, boolean>();
  #nextId = 1;

  constructor(opts: LockManagerOptions) {
    this.#o = opts;
  }

  /**
   * Resolves with the granted lock; EINVAL for a bad request, EINTR if `signal` aborts first.
   * `undelivered`: the grant reaches its holder only after work the server does first; until
   * `delivered(id)` the lock gets no blocking callback (its holder could not cancel a lock it does
   * not know of, and the callback's deadline would evict it for the server's own delay).
   */
  enqueue(
    client: string,
    req: LockRequest,
    signal?: AbortSignal,
    opts?: { undelivered?: boolean },
  ): Promise<Lock> {
    const undelivered = opts?.undelivered ?? false;
    const bits = req.kind === 'ibits' ? (req.bits ?? 0) : 0;
    if (req.kind === 'ibits' && (bits === 0 || (bits & ~ALL_IBITS) !== 0)) {
      return Promise.reject(new FsError('EINVAL', `bad inode bits ${bits}`));
    }
    if (req.mode !== 'PR' && req.mode !== 'PW')
      return Promise.reject(new FsError('EINVAL', 'mode must be PR or PW'));
    const lock: Lock = { id: this.#nextId++, client, ino: req.ino, kind: req.kind, mode: req.mode, bits };
    const queue = this.#waiting.get(lock.ino) ?? [];
    if (queue.length === 0 && this.#blockers(lock).length === 0)
      return Promise.resolve(this.#grant(lock, undelivered));
    return new Promise<Lock>((resolve, reject) => {
      const waiter: Waiter = { lock, undelivered, grant: resolve, fail: reject };
      queue.push(waiter);
      this.#waiting.set(lock.ino, queue);
      signal?.addEventListener(
        'abort',
        () => {
          if (!this.#removeWaiter(waiter)) return;
          reject(new FsError('EINTR', 'lock request interrupted'));
          this.#progress(lock.ino); // requests queued behind it may be grantable now
        },
        { once: true },
      );
      this.#progress(lock.ino);
    });
  }

  /**
   * Grants `req` only if it can be granted at once (no conflicting holder, nobody queued on the
   * inode); otherwise undefined and nothing changes: a lock handed out with a reply, which must
   * not wait behind callbacks.
   */
  tryEnqueue(client: string, req: LockRequest): Lock | undefined {
    const bits = req.kind === 'ibits' ? (req.bits ?? 0) : 0;
    if (req.kind === 'ibits' && (bits === 0 || (bits & ~ALL_IBITS) !== 0)) return undefined;
    const lock: Lock = { id: this.#nextId, client, ino: req.ino, kind: req.kind, mode: req.mode, bits };
    if ((this.#waiting.get(lock.ino)?.length ?? 0) > 0 || this.#blockers(lock).length > 0) return undefined;
    this.#nextId++;
    return this.#grant(lock);
  }

  /** The holder of lock `id` (granted `undelivered`) is being told: a callback held back is sent now. */
  delivered(id: number): void {
    const wanted = this.#undelivered.get(id);
    this.#undelivered.delete(id);
    const lock = this.#byId.get(id);
    if (wanted && lock) this.#callBack(lock);
  }

  /** Gives a lock back. Returns false for a lock that is not (or no longer) held by `client`. */
  cancel(client: string, id: number): boolean {
    const lock = this.#byId.get(id);
    if (!lock || lock.client !== client) return false;
    this.#drop(lock);
    this.#progress(lock.ino);
    return true;
  }

  /** Drops every lock of `client` and its waiting requests (EIO): a client gone or evicted. */
  dropClient(client: string): void {
    const inos = new Set<number>();
    for (const lock of [...this.#byId.values()]) {
      if (lock.client !== client) continue;
      this.#drop(lock);
      inos.add(lock.ino);
    }
    for (const [ino, queue] of this.#waiting) {
      for (const w of queue.filter((x) => x.lock.client === client)) {
        this.#removeWaiter(w);
        w.fail(new FsError('EIO', `client ${client} was evicted`));
      }
      inos.add(ino);
    }
    for (const ino of inos) this.#progress(ino);
  }

  /** `client`'s locks on `ino` that have not been called back (still its to use). */
  heldBy(client: string, ino: number): Lock[] {
    return (this.#granted.get(ino) ?? []).filter((l) => l.client === client && !this.#called.has(l.id));
  }

  locksOf(client: string): Lock[] {
    return [...this.#byId.values()].filter((l) => l.client === client);
  }

  /** Stops every callback timer; waiters are left pending (the server is going away). */
  close(): void {
    for (const t of this.#called.values()) clearTimeout(t);
    this.#called.clear();
  }

  #blockers(lock: Lock): Lock[] {
    return (this.#granted.get(lock.ino) ?? []).filter((g) => conflicts(g, lock));
  }

  #grant(lock: Lock, undelivered = false): Lock {
    if (undelivered) this.#undelivered.set(lock.id, false);
    const list = this.#granted.get(lock.ino) ?? [];
    list.push(lock);
    this.#granted.set(lock.ino, list);
    this.#byId.set(lock.id, lock);
    return lock;
  }

  #drop(lock: Lock): void {
    this.#byId.delete(lock.id);
    const list = (this.#granted.get(lock.ino) ?? []).filter((l) => l.id !== lock.id);
    if (list.length > 0) this.#granted.set(lock.ino, list);
    else this.#granted.delete(lock.ino);
    const t = this.#called.get(lock.id);
    if (t) clearTimeout(t);
    this.#called.delete(lock.id);
    this.#undelivered.delete(lock.id);
  }

  #removeWaiter(w: Waiter): boolean {
    const queue = this.#waiting.get(w.lock.ino);
    const i = queue?.indexOf(w) ?? -1;
    if (!queue || i < 0) return false;
    queue.splice(i, 1);
    if (queue.length === 0) this.#waiting.delete(w.lock.ino);
    return true;
  }

  /** Grants waiters at the head of the inode's queue that no longer conflict; calls back the blockers of the first that does. */
  #progress(ino: number): void {
    const queue = this.#waiting.get(ino);
    while (queue && queue.length > 0) {
      const head = queue[0]!;
      const blockers = this.#blockers(head.lock);
      if (blockers.length > 0) {
        for (const b of blockers) this.#callBack(b);
        return;
      }
      queue.shift();
      head.grant(this.#grant(head.lock, head.undelivered));
    }
    this.#waiting.delete(ino);
  }

  #callBack(lock: Lock): void {
    if (this.#undelivered.has(lock.id)) {
      this.#undelivered.set(lock.id, true);
      return;
    }
    if (this.#called.has(lock.id)) return;
    const timer = setTimeout(() => {
      if (!this.#byId.has(lock.id)) return;
      const reason = `did not cancel lock ${lock.id} on inode ${lock.ino} within ${this.#o.callbackTimeoutMs} ms of a blocking callback`;
      this.dropClient(lock.client);
      this.#o.onEvict(lock.client, reason);
    }, this.#o.callbackTimeoutMs);
    this.#called.set(lock.id, timer);
    this.#o.sendBlocking(lock);
  }
}
