// Striped data I/O on a file's OST objects: parallel stripe reads and writes, mirrors, punch and sync fan-out.
import { setTimeout as sleep } from 'node:timers/promises';
import { FsError } from '../../lib/errors.ts';
import { type Logger, logger } from '../../lib/log.ts';
import {
  copiesOf,
  type Extent,
  glimpseLayout,
  mapRange,
  objectId,
  objectSize,
  readableCopies,
  staleCopy,
  stripeExtents,
} from '../striping.ts';
import type { Layout } from '../types.ts';
import { isUnreachable, type OstPool } from './ost-pool.ts';

/** Largest OST call the client makes (bytes); bigger stripe extents are split. */
export const MAX_OST_CALL = 16 * 1024 * 1024;
/** How long an OST that failed is asked after its mirror (ms). */
const SUSPECT_MS = 5_000;

/**
 * Reports to the MDS that `ost`'s copy of a stripe missed a write (MdsMethods.markStale); resolves
 * once the MDS recorded it durably.
 */
export type MarkStale = (ino: number, stripe: number, ost: number, signal?: AbortSignal) => Promise<void>;

/** The outcome of one OST call. */
type Attempt = { ok: true } | { ok: false; unreachable: boolean; err: FsError };

/**
 * Moves file bytes to and from OST objects. Errors are FsErrors: the OSS's errno as it sent it
 * (ENOSPC, EFBIG, ...), EINTR when the caller's signal aborted, and EIO when an OST holding the
 * data could not be reached. Nothing here knows the file size: reads return exactly the range
 * asked, with holes and bytes past an object's end as zeros.
 *
 * Mirrored stripes (PERSISTENT): a read never asks a copy the layout marks stale, and tries the
 * other copy when one is unreachable. A write (or truncate) goes to every copy not marked stale;
 * if exactly one of two copies was unreachable and the other succeeded, or a copy is already
 * marked stale, the call resolves only after `markStale` recorded that copy on the MDS (and adds it
 * to `layout.stale`, which the caller's cached layout then carries). Without `markStale`, or when
 * no copy took the write, it fails with EIO. See src/lustre/mds/resync-queue.ts for why this
 * keeps the resync from losing writes.
 */
export class StripedIo {
  readonly #pool: OstPool;
  readonly #maxCall: number;
  readonly #suspect = new Map<number, number>();
  readonly #log: Logger = logger('lustre-client');
  readonly #markStale: MarkStale | undefined;

  readonly #recoveryMs: number;

  /**
   * `recoveryMs`: how long a call whose every copy is unreachable waits for a server to come back
   * (retrying with backoff), as Lustre clients wait through a target's recovery, before it fails
   * with EIO; Infinity waits like a hard mount. Default 0: EIO at once.
   */
  constructor(pool: OstPool, opts: { maxCall?: number; markStale?: MarkStale; recoveryMs?: number } = {}) {
    this.#pool = pool;
    this.#recoveryMs = opts.recoveryMs ?? 0;
    this.#maxCall = opts.maxCall ?? MAX_OST_CALL;
    this.#markStale = opts.markStale;
  }

  async read(
    ino: number,
    layout: Layout,
    offset: number,
    length: number,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    const extents = stripeExtents(mapRange(layout, offset, length), this.#maxCall);
    if (extents.length === 1 && inOneRun(extents[0]!)) {
      const data = await this.#readExtent(ino, layout, extents[0]!, signal);
      if (data.length === length) return data;
      const out = Buffer.alloc(length);
      data.copy(out);
      return out;
    }
    const out = Buffer.alloc(length);
    await this.#all(
      extents.map(async (e) => {
        const data = await this.#readExtent(ino, layout, e, signal);
        for (const c of e.chunks) {
          const from = c.objectOffset - e.objectOffset;
          if (from >= data.length) break;
          data.copy(out, c.bufferOffset, from, Math.min(from + c.length, data.length));
        }
      }),
      signal,
    );
    return out;
  }

  async write(
    ino: number,
    layout: Layout,
    offset: number,
    data: Buffer,
    signal?: AbortSignal,
  ): Promise<void> {
    const extents = stripeExtents(mapRange(layout, offset, data.length), this.#maxCall);
    await this.#all(
      extents.map((e) => {
        // Chunks adjacent in `data` too (a single stripe, or one stripe's run) go as they are, without a copy.
        const first = e.chunks[0]!.bufferOffset;
        const bytes = inOneRun(e)
          ? data.subarray(first, first + e.length)
          : Buffer.concat(e.chunks.map((c) => data.subarray(c.bufferOffset, c.bufferOffset + c.length)));
        const object = objectId(ino, e.stripe);
        return this.#mirrored(ino, layout, e.stripe, 'write', true, signal, (ost) =>
          this.#pool.write(ost, object, e.objectOffset, bytes, signal),
        );
      }),
      signal,
    );
  }

  /** Sets every object (and mirror) to its size for a file of `size` bytes. */
  async truncate(ino: number, layout: Layout, size: number, signal?: AbortSignal): Promise<void> {
    await this.#all(
      layout.osts.map((_, stripe) => {
        const object = objectId(ino, stripe);
        const objSize = objectSize(layout, size, stripe);
        return this.#mirrored(ino, layout, stripe, 'truncate', true, signal, (ost) =>
          this.#pool.punch(ost, object, objSize, signal),
        );
      }),
      signal,
    );
  }

  /**
   * Lustre's glimpse: the file's size as its objects tell it — the largest file offset any stripe
   * holds data at, over every readable copy. EIO when a stripe has no copy that answers.
   */
  async glimpse(ino: number, layout: Layout, signal?: AbortSignal): Promise<number> {
    return glimpseLayout(layout, {
      sizeOf: (ost, stripe) => this.#pool.objectSize(ost, objectId(ino, stripe), signal),
      passOver: (err, ost, stripe) => {
        if (signal?.aborted) throw interrupted(err);
        if (!isUnreachable(err))
          throw asFsError(err, `size of ${objectId(ino, stripe)} on ${this.#pool.name(ost)}`);
        this.#markSuspect(ost, err);
      },
      noCopy: (stripe, last) =>
        lost(objectId(ino, stripe), this.#pool.name(layout.osts[stripe]!), last, 'glimpse'),
    });
  }

  /** fsync of every object (and mirror) of the file. */
  async sync(ino: number, layout: Layout, signal?: AbortSignal): Promise<void> {
    await this.#all(
      layout.osts.map((_, stripe) => {
        const object = objectId(ino, stripe);
        return this.#mirrored(ino, layout, stripe, 'sync', false, signal, (ost) =>
          this.#pool.sync(ost, object, signal),
        );
      }),
      signal,
    );
  }

  /**
   * Runs `fn` on every copy of `stripe` as a write runs on them (mirrors, stale copies, waiting out
   * an unreachable OSS): for changes made by the OSS itself (striped-fetch.ts).
   */
  changeStripe(
    ino: number,
    layout: Layout,
    stripe: number,
    what: string,
    signal: AbortSignal | undefined,
    fn: (ost: number) => Promise<void>,
  ): Promise<void> {
    return this.#mirrored(ino, layout, stripe, what, true, signal, fn);
  }

  /** Reads one extent from the first copy that answers, trying OSTs that failed lately last. */
  #readExtent(ino: number, layout: Layout, e: Extent, signal?: AbortSignal): Promise<Buffer> {
    return this.#riding('read', signal, () => this.#readExtentOnce(ino, layout, e, signal));
  }

  #readExtentOnce(ino: number, layout: Layout, e: Extent, signal?: AbortSignal): Promise<Buffer> {
    const object = objectId(ino, e.stripe);
    return this.#fromCopyOnce(ino, layout, e.stripe, 'read', signal, (ost) =>
      this.#pool.read(ost, object, e.objectOffset, e.length, signal),
    );
  }

  /**
   * Runs `fn` on one readable copy of `stripe` as a read picks it (never a stale copy; OSTs that
   * failed lately last; the next copy when one is unreachable; waiting out an unreachable OSS as
   * reads do): for reads made by the OSS itself (striped-upload.ts).
   */
  fromCopy<T>(
    ino: number,
    layout: Layout,
    stripe: number,
    what: string,
    signal: AbortSignal | undefined,
    fn: (ost: number) => Promise<T>,
  ): Promise<T> {
    return this.#riding(what, signal, () => this.#fromCopyOnce(ino, layout, stripe, what, signal, fn));
  }

  async #fromCopyOnce<T>(
    ino: number,
    layout: Layout,
    stripe: number,
    what: string,
    signal: AbortSignal | undefined,
    fn: (ost: number) => Promise<T>,
  ): Promise<T> {
    const object = objectId(ino, stripe);
    const copies = readableCopies(layout, stripe);
    const now = Date.now();
    const order = [...copies].sort(
      (a, b) => Number(this.#isSuspect(a, now)) - Number(this.#isSuspect(b, now)),
    );
    let last: unknown;
    for (const ost of order) {
      try {
        return await fn(ost);
      } catch (err) {
        if (signal?.aborted) throw interrupted(err);
        if (!isUnreachable(err)) throw asFsError(err, `${what} of ${object} on ${this.#pool.name(ost)}`);
        this.#markSuspect(ost, err);
        last = err;
      }
    }
    throw lost(object, order.map((o) => this.#pool.name(o)).join(' and '), last, what);
  }

  /**
   * Runs `fn` on every copy of a stripe not marked stale. Succeeds if all did; also if one of two
   * copies was unreachable and the other did, after reporting it stale. A copy already marked
   * stale is reported again after a `changes` call (a write or truncate), so the MDS's resync
   * knows that the good copy changed under it.
   */
  #mirrored(
    ino: number,
    layout: Layout,
    stripe: number,
    what: string,
    changes: boolean,
    signal: AbortSignal | undefined,
    fn: (ost: number) => Promise<void>,
  ): Promise<void> {
    return this.#riding(what, signal, () =>
      this.#mirroredOnce(ino, layout, stripe, what, changes, signal, fn),
    );
  }

  /**
   * Runs `run` again while it fails because no copy could be reached, for up to `recoveryMs` (the
   * calls are idempotent: the same bytes at the same offsets). Past that the EIO stands, logged at
   * warn with the server and the call, so a user can tell why an application got it.
   */
  async #riding<T>(what: string, signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
    const giveUpAt = Date.now() + this.#recoveryMs;
    let delay = 100;
    for (let attempt = 0; ; attempt++) {
      try {
        return await run();
      } catch (err) {
        if (!isLost(err) || signal?.aborted) throw err;
        const left = giveUpAt - Date.now();
        if (left <= 0) {
          this.#log.warn('EIO to the application: no copy of the object could be reached', {
            call: what,
            waitedMs: this.#recoveryMs,
            error: err.message,
          });
          throw err;
        }
        if (attempt === 0)
          this.#log.warn('waiting for an OST to come back', { call: what, error: err.message });
        try {
          await sleep(Math.min(delay, left), undefined, signal ? { signal } : {});
        } catch (e) {
          throw interrupted(e);
        }
        delay = Math.min(2_000, delay * 2);
      }
    }
  }

  async #mirroredOnce(
    ino: number,
    layout: Layout,
    stripe: number,
    what: string,
    changes: boolean,
    signal: AbortSignal | undefined,
    fn: (ost: number) => Promise<void>,
  ): Promise<void> {
    const object = objectId(ino, stripe);
    const copies = copiesOf(layout, stripe);
    const stale = staleCopy(layout, stripe);
    const live = copies.filter((ost) => ost !== stale);
    const results = await Promise.all(live.map((ost) => this.#attempt(ost, object, what, () => fn(ost))));
    if (signal?.aborted) throw new FsError('EINTR', 'I/O interrupted');
    const failed = live.flatMap((ost, i) => {
      const r = results[i]!;
      return r.ok ? [] : [{ ost, ...r }];
    });
    if (failed.length === 0) {
      if (stale !== undefined && changes) await this.#reportStale(ino, layout, stripe, stale, signal);
      return;
    }
    const [first] = failed;
    if (live.length === 2 && failed.length === 1 && first!.unreachable && this.#markStale) {
      await this.#reportStale(ino, layout, stripe, first!.ost, signal);
      return;
    }
    throw first!.err;
  }

  async #reportStale(
    ino: number,
    layout: Layout,
    stripe: number,
    ost: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const object = objectId(ino, stripe);
    if (!this.#markStale) throw new FsError('EIO', `copy of ${object} on ${this.#pool.name(ost)} is stale`);
    try {
      await this.#markStale(ino, stripe, ost, signal);
    } catch (err) {
      if (signal?.aborted) throw interrupted(err);
      throw asFsError(err, `recording the copy of ${object} on ${this.#pool.name(ost)} as stale`);
    }
    if (staleCopy(layout, stripe) === undefined) layout.stale = [...(layout.stale ?? []), { stripe, ost }];
  }

  /** Runs one OST call; "unreachable" becomes EIO and marks the OST suspect. */
  async #attempt(ost: number, object: string, what: string, fn: () => Promise<void>): Promise<Attempt> {
    try {
      await fn();
      return { ok: true };
    } catch (err) {
      if (isUnreachable(err)) {
        this.#markSuspect(ost, err);
        return { ok: false, unreachable: true, err: lost(object, this.#pool.name(ost), err, what) };
      }
      return {
        ok: false,
        unreachable: false,
        err: asFsError(err, `${what} of ${object} on ${this.#pool.name(ost)}`),
      };
    }
  }

  /** Waits for every call; the first error wins, but only after all have settled (no call outlives us). */
  async #all(calls: Promise<void>[], signal: AbortSignal | undefined): Promise<void> {
    const results = await Promise.allSettled(calls);
    if (signal?.aborted) throw new FsError('EINTR', 'I/O interrupted');
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }

  #isSuspect(ost: number, now: number): boolean {
    return (this.#suspect.get(ost) ?? 0) > now;
  }

  #markSuspect(ost: number, err: unknown): void {
    if (!this.#isSuspect(ost, Date.now())) {
      this.#log.warn('OST unreachable', { ost: this.#pool.name(ost), error: String(err) });
    }
    this.#suspect.set(ost, Date.now() + SUSPECT_MS);
  }
}

/** An EIO made by `lost`: no copy could be reached (as opposed to an errno an OSS answered). */
function isLost(err: unknown): err is FsError {
  return err instanceof FsError && err.code === 'EIO' && isUnreachable(err.cause);
}

function lost(object: string, where: string, cause: unknown, what = 'read'): FsError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new FsError('EIO', `${what} of object ${object}: ${where} unreachable (${why})`, { cause });
}

function interrupted(cause: unknown): FsError {
  return new FsError('EINTR', 'I/O interrupted', { cause });
}

function asFsError(err: unknown, context: string): FsError {
  if (err instanceof FsError) return err;
  const why = err instanceof Error ? err.message : String(err);
  return new FsError('EIO', `${context}: ${why}`, { cause: err });
}

/** Whether an extent's chunks are also adjacent in the caller's buffer (then one slice of it is the extent). */
function inOneRun(e: Extent): boolean {
  return e.chunks.every(
    (c, k) => k === 0 || c.bufferOffset === e.chunks[k - 1]!.bufferOffset + e.chunks[k - 1]!.length,
  );
}
