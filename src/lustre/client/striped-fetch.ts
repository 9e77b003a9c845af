// Filling a file's stripes from outside: each OSS holding a run of a byte range fetches that run itself (OssMethods.fetchRange).
import { NacreError } from '../../lib/errors.ts';
import type { FetchFailure, FetchSource } from '../protocol/oss-messages.ts';
import { type Chunk, mapRange, objectId } from '../striping.ts';
import type { Layout } from '../types.ts';
import type { OstPool } from './ost-pool.ts';
import type { StripedIo } from './striped-io.ts';

/** Largest run one OSS fetches in one GET (bytes). */
const MAX_RUN = 64 * 1024 * 1024;

/** A GET of file bytes [offset, offset + length) from where they come from (an S3 object: a presigned ranged GET). */
export type SourceOf = (offset: number, length: number, signal?: AbortSignal) => Promise<FetchSource>;

/** An OSS's GET failed; `failure` says how the remote store answered. */
export class FetchFailedError extends NacreError {
  readonly failure: FetchFailure;
  constructor(failure: FetchFailure) {
    super('FetchFailed', failure.message);
    this.failure = failure;
  }
}

/**
 * Runs of [offset, offset + length) that are contiguous in the file and in one stripe's object:
 * one per stripe unit, or longer where consecutive units sit on the same object (one stripe).
 */
export function fetchRuns(layout: Layout, offset: number, length: number): Chunk[] {
  const runs: Chunk[] = [];
  for (const c of mapRange(layout, offset, length)) {
    const last = runs.at(-1);
    if (
      last &&
      last.stripe === c.stripe &&
      last.objectOffset + last.length === c.objectOffset &&
      last.bufferOffset + last.length === c.bufferOffset &&
      last.length + c.length <= MAX_RUN
    )
      last.length += c.length;
    else runs.push({ ...c });
  }
  return runs;
}

/**
 * Has the OSSes fetch file bytes [offset, offset + length) into their objects (every copy of a
 * mirrored stripe, as a write would), one GET per run in parallel. Resolves with the bytes fetched
 * (fewer than `length` when the source ended early: the runs after the short one may hold nothing).
 * Rejects with FetchFailedError when a GET failed, or as a write does (EIO for an unreachable OSS).
 */
export async function fetchStripes(
  io: StripedIo,
  pool: OstPool,
  ino: number,
  layout: Layout,
  offset: number,
  length: number,
  sourceOf: SourceOf,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<number> {
  const runs = fetchRuns(layout, offset, length);
  const settled = await Promise.allSettled(
    runs.map(async (r) => {
      const source = await sourceOf(offset + r.bufferOffset, r.length, signal);
      let least = r.length;
      const object = objectId(ino, r.stripe);
      try {
        await io.changeStripe(ino, layout, r.stripe, 'fetch', signal, async (ost) => {
          const out = await pool.fetchRange(
            ost,
            { object, offset: r.objectOffset, length: r.length, source, timeoutMs },
            signal,
          );
          if ('failed' in out) throw new FetchFailedError(out.failed);
          least = Math.min(least, out.fetched);
        });
      } catch (err) {
        // StripedIo wraps what an OSS answered in EIO: the remote store's answer is what the caller needs.
        const cause = (err as { cause?: unknown }).cause;
        throw cause instanceof FetchFailedError ? cause : err;
      }
      return least;
    }),
  );
  // Every GET has ended before the first failure is reported (no fetch outlives the call).
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  const fetched = settled.map((s) => (s as PromiseFulfilledResult<number>).value);
  let total = 0;
  for (const [i, n] of fetched.entries()) {
    total += n;
    if (n < runs[i]!.length) break;
  }
  return total;
}
