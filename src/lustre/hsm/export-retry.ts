// A change whose automatic export keeps failing: retried with backoff, then parked (its file kept dirty) so later changes go on.
import type { LustreClient } from '../client/lustre-client.ts';
import type { ChangeRecord } from '../protocol/changelog-messages.ts';
import { HS_DIRTY } from '../protocol/hsm-messages.ts';
import { ROOT_CREDENTIALS, S_IFMT, S_IFREG } from '../types.ts';
import type { ParkedRemovals } from './parked-removals.ts';
import { lookupPath } from './tree.ts';

/**
 * The retry state of one association's automatic export (kept by its agent across reads of the
 * changelog). A failing change holds back the changes after it (they may depend on it: a create
 * before its rename) while it is retried, `attempts` times with a backoff doubling from
 * `backoffMs` (at most 60 s); then it is parked: `parked` is told (log, metric), its file is
 * marked dirty so that an EXPORT task or the file's next change exports it, and the cursor moves
 * past it.
 */
export interface ExportRetry {
  /** Attempts before a change is parked (default 5). */
  attempts?: number;
  /** The first wait before a retry (ms, default 1000). */
  backoffMs?: number;
  /** A failed attempt that will be retried. */
  failed?: (r: ChangeRecord, error: unknown, attempt: number, retryInMs: number) => void;
  /**
   * A change given up on: its file, if it still has one, stays dirty; `removalKept` (for a change
   * that removes S3 keys) says whether its removal was kept to be retried, or lost (the list full).
   */
  parked?: (r: ChangeRecord, error: unknown, removalKept?: boolean) => void;
  now?: () => number;
  /** The change being retried: its seq, the attempts made, and when it is due again. */
  failing?: { seq: number; attempts: number; retryAt: number };
  /** When the parked S3 removals are tried again (undefined: at the next read of the changelog; Infinity: none left). */
  parkedDueAt?: number;
  /** The association's parked S3 removals (made by exportChanges). */
  removals?: ParkedRemovals;
}

const MAX_BACKOFF_MS = 60_000;

/** How often parked S3 removals are tried again: the backoff after the last attempt (32 s by default, at most 60 s). */
export function parkedRetryMs(retry: ExportRetry): number {
  return Math.min(MAX_BACKOFF_MS, (retry.backoffMs ?? 1000) * 2 ** (retry.attempts ?? 5));
}

/** Whether change `r` is waiting out its backoff (then nothing after it is handled yet). */
export function backingOff(retry: ExportRetry, r: ChangeRecord): boolean {
  return retry.failing?.seq === r.seq && (retry.now ?? Date.now)() < retry.failing.retryAt;
}

/** Change `r` was handled: its retry state goes. */
export function succeeded(retry: ExportRetry, r: ChangeRecord): void {
  if (retry.failing?.seq === r.seq) delete retry.failing;
}

/**
 * Change `r` failed: returns 'retry' (the caller stops before it; it is due again after the
 * backoff) or 'parked' (after its file was marked dirty, or for an S3 removal, after `keepRemoval`
 * kept it to be retried (see parked-removals.ts); the caller moves past it).
 */
export async function failed(
  c: LustreClient,
  retry: ExportRetry,
  r: ChangeRecord,
  error: unknown,
  signal: AbortSignal,
  keepRemoval?: () => Promise<boolean>,
): Promise<'retry' | 'parked'> {
  const f = retry.failing?.seq === r.seq ? retry.failing : { seq: r.seq, attempts: 0, retryAt: 0 };
  f.attempts++;
  if (f.attempts < (retry.attempts ?? 5)) {
    const wait = Math.min(MAX_BACKOFF_MS, (retry.backoffMs ?? 1000) * 2 ** (f.attempts - 1));
    f.retryAt = (retry.now ?? Date.now)() + wait;
    retry.failing = f;
    retry.failed?.(r, error, f.attempts, wait);
    return 'retry';
  }
  // (Failing, either leaves the change to be tried again next time.)
  await keepDirty(c, r, signal);
  const kept = keepRemoval ? await keepRemoval() : undefined;
  if (kept)
    retry.parkedDueAt = Math.min(
      retry.parkedDueAt ?? Number.POSITIVE_INFINITY,
      (retry.now ?? Date.now)() + parkedRetryMs(retry),
    );
  delete retry.failing;
  retry.parked?.(r, error, kept);
  return 'parked';
}

/** Marks the regular file a change names dirty, if it still exists (a removal's keys are parked-removals.ts's). */
async function keepDirty(c: LustreClient, r: ChangeRecord, signal: AbortSignal): Promise<void> {
  if (r.type === 'UNLNK' || r.type === 'RMDIR') return;
  const attr = await lookupPath(c, r.path, signal);
  if (!attr || (attr.mode & S_IFMT) !== S_IFREG) return;
  await c.mds.mutate('hsmSet', { cred: ROOT_CREDENTIALS, ino: attr.ino, set: HS_DIRTY, clear: 0 }, signal);
}
