// Sending a file's bytes out: the OSS holding a range of the file PUTs it itself (OssMethods.rangeChecksum + uploadRange).
import type { FetchSource } from '../protocol/oss-messages.ts';
import { objectId } from '../striping.ts';
import type { Layout } from '../types.ts';
import type { OstPool } from './ost-pool.ts';
import { FetchFailedError, fetchRuns } from './striped-fetch.ts';
import type { StripedIo } from './striped-io.ts';

/** Where file bytes go, once their CRC-32 (base64) is known: a presigned PUT of exactly those bytes. */
export type DestOf = (crc32: string, signal?: AbortSignal) => Promise<FetchSource>;

/** One range sent: the store's ETag and the CRC-32 it checked. */
export interface SentRange {
  etag: string;
  crc32: string;
}

/**
 * Uploads ranges of one open file by the OSSes that hold them. A range can go only when it is one
 * contiguous run of one stripe's object (`sendable`): one-stripe files, or stripe units that are
 * multiples of the range size and aligned with it.
 */
export class StripeUploader {
  readonly #io: StripedIo;
  readonly #pool: OstPool;
  readonly #ino: number;
  readonly #layout: Layout;

  constructor(io: StripedIo, pool: OstPool, ino: number, layout: Layout) {
    this.#io = io;
    this.#pool = pool;
    this.#ino = ino;
    this.#layout = layout;
  }

  /** Whether file bytes [offset, offset + length) lie in one contiguous range of one object. */
  sendable(offset: number, length: number): boolean {
    return length > 0 && fetchRuns(this.#layout, offset, length).length === 1;
  }

  /**
   * Has the OSS of file bytes [offset, offset + length) (a readable copy, as a read picks it) take
   * their CRC-32, asks `destOf` for a PUT signed with it, and has the same OSS PUT them; bytes past
   * the object's end go as zeros, as a read returns them. Rejects with FetchFailedError when the
   * store refused or could not be reached, as a read does when no copy's OSS answers (EIO); throws
   * RangeError at once for a range that is not `sendable` (a caller's mistake: check it first).
   */
  send(
    offset: number,
    length: number,
    destOf: DestOf,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<SentRange> {
    const runs = fetchRuns(this.#layout, offset, length);
    const run = runs[0];
    if (runs.length !== 1 || !run)
      throw new RangeError(`bytes ${offset}+${length} of inode ${this.#ino} span more than one object range`);
    const object = objectId(this.#ino, run.stripe);
    const range = { object, offset: run.objectOffset, length };
    return this.#io
      .fromCopy(this.#ino, this.#layout, run.stripe, 'upload', signal, async (ost) => {
        const crc32 = await this.#pool.rangeChecksum(ost, range, signal);
        const dest = await destOf(crc32, signal).catch((err: unknown) => {
          throw new SignerFailed(err);
        });
        const out = await this.#pool.uploadRange(ost, { ...range, dest, timeoutMs }, signal);
        if ('failed' in out) throw new FetchFailedError(out.failed);
        return { etag: out.etag, crc32 };
      })
      .catch((err: unknown) => {
        // StripedIo wraps what an OSS answered in EIO: the remote store's answer is what the caller needs.
        const cause = (err as { cause?: unknown }).cause;
        if (cause instanceof SignerFailed) throw cause.cause; // destOf's own error, as it threw it
        throw cause instanceof FetchFailedError ? cause : err;
      });
  }
}

/** destOf failed (the signer's error is the cause): not the OSS's failure, and not retried on another copy. */
class SignerFailed extends Error {
  constructor(cause: unknown) {
    super('the signer failed', { cause });
  }
}
