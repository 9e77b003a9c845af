// Striped data I/O on a file's OST objects: parallel stripe reads and writes, mirrors, punch and sync fan-out.
import { FsError } from '../../lib/errors.ts';
import { type Logger, logger } from '../../lib/log.ts';
import type { Layout } from '../types.ts';
import { isUnreachable, type OstPool } from './ost-pool.ts';
import { type Extent, mapRange, objectSize, stripeExtents } from './striping.ts';

/** Largest OST call the client makes (bytes); bigger stripe extents are split. */
export const MAX_OST_CALL = 16 * 1024 * 1024;
/** How long an OST that failed is asked after its mirror (ms). */
const SUSPECT_MS = 5_000;

/** The object id of stripe `stripe` of inode `ino`, as the OSS addresses it. */
export function objectId(ino: number, stripe: number): string {
  return `${ino}.${stripe}`;
}

/** The OSTs holding stripe `stripe`: the primary, then the mirror if the layout has one. */
export function copiesOf(layout: Layout, stripe: number): number[] {
  const primary = layout.osts[stripe];
  if (primary === undefined) throw new FsError('EIO', `layout has no OST for stripe ${stripe}`);
  const mirror = layout.mirrors?.[stripe];
  return mirror === undefined ? [primary] : [primary, mirror];
}

/**
 * Moves file bytes to and from OST objects. Errors are FsErrors: the OSS's errno as it sent it
 * (ENOSPC, EFBIG, ...), EINTR when the caller's signal aborted, and EIO when an OST holding the
 * data could not be reached (with a mirror, a read tries the other copy first; a write needs
 * every copy). Nothing here knows the file size: reads return exactly the range asked, with holes
 * and bytes past an object's end as zeros.
 */
export class StripedIo {
  readonly #pool: OstPool;
  readonly #maxCall: number;
  readonly #suspect = new Map<number, number>();
  readonly #log: Logger = logger('lustre-client');

  constructor(pool: OstPool, maxCall = MAX_OST_CALL) {
    this.#pool = pool;
    this.#maxCall = maxCall;
  }

  async read(
    ino: number,
    layout: Layout,
    offset: number,
    length: number,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    const extents = stripeExtents(mapRange(layout, offset, length), this.#maxCall);
    if (extents.length === 1 && extents[0]!.chunks.length === 1) {
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
      extents.flatMap((e) => {
        const bytes =
          e.chunks.length === 1
            ? data.subarray(e.chunks[0]!.bufferOffset, e.chunks[0]!.bufferOffset + e.length)
            : Buffer.concat(e.chunks.map((c) => data.subarray(c.bufferOffset, c.bufferOffset + c.length)));
        const object = objectId(ino, e.stripe);
        return copiesOf(layout, e.stripe).map((ost) =>
          this.#guard(ost, object, 'write', () =>
            this.#pool.write(ost, object, e.objectOffset, bytes, signal),
          ),
        );
      }),
      signal,
    );
  }

  /** Sets every object (and mirror) to its size for a file of `size` bytes. */
  async truncate(ino: number, layout: Layout, size: number, signal?: AbortSignal): Promise<void> {
    await this.#all(
      layout.osts.flatMap((_, stripe) => {
        const object = objectId(ino, stripe);
        const objSize = objectSize(layout, size, stripe);
        return copiesOf(layout, stripe).map((ost) =>
          this.#guard(ost, object, 'truncate', () => this.#pool.punch(ost, object, objSize, signal)),
        );
      }),
      signal,
    );
  }

  /** fsync of every object (and mirror) of the file. */
  async sync(ino: number, layout: Layout, signal?: AbortSignal): Promise<void> {
    await this.#all(
      layout.osts.flatMap((_, stripe) => {
        const object = objectId(ino, stripe);
        return copiesOf(layout, stripe).map((ost) =>
          this.#guard(ost, object, 'sync', () => this.#pool.sync(ost, object, signal)),
        );
      }),
      signal,
    );
  }

  /** Reads one extent from the first copy that answers, trying OSTs that failed lately last. */
  async #readExtent(ino: number, layout: Layout, e: Extent, signal?: AbortSignal): Promise<Buffer> {
    const object = objectId(ino, e.stripe);
    const copies = copiesOf(layout, e.stripe);
    const now = Date.now();
    const order = [...copies].sort(
      (a, b) => Number(this.#isSuspect(a, now)) - Number(this.#isSuspect(b, now)),
    );
    let last: unknown;
    for (const ost of order) {
      try {
        return await this.#pool.read(ost, object, e.objectOffset, e.length, signal);
      } catch (err) {
        if (signal?.aborted) throw interrupted(err);
        if (!isUnreachable(err)) throw asFsError(err, `reading ${object} from ${this.#pool.name(ost)}`);
        this.#markSuspect(ost, err);
        last = err;
      }
    }
    throw lost(object, order.map((o) => this.#pool.name(o)).join(' and '), last);
  }

  /** Runs one OST call, turning "unreachable" into EIO and remembering the OST as suspect. */
  async #guard(ost: number, object: string, what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (isUnreachable(err)) {
        this.#markSuspect(ost, err);
        throw lost(object, this.#pool.name(ost), err, what);
      }
      throw asFsError(err, `${what} of ${object} on ${this.#pool.name(ost)}`);
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
