// Size reports the MDS cannot take as they are: it finishes a pending punch and reads the size from the objects first.
import type { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../lib/log.ts';
import type { Layout } from '../types.ts';
import { copyDown } from './copy-down.ts';
import type { Glimpse } from './evict-glimpse.ts';
import { clearPunch, pendingPunch } from './punches.ts';
import { epochOf, inEpoch, settledAt } from './size-epochs.ts';
import { markStale } from './stale.ts';

/** Cuts every copy of `ino`'s objects to their share of a `size`-byte file; `down`: mirrored copies that could not be reached. */
export type PunchObjects = (
  ino: number,
  layout: Layout,
  size: number,
  signal: AbortSignal,
) => Promise<{ down: { stripe: number; ost: number }[] }>;

export interface SettleDeps {
  db: DatabaseSync;
  layoutOf(ino: number): Layout | null;
  /** Runs `fn` in a committed transaction. */
  apply<T>(fn: () => T): Promise<T>;
  glimpse: Glimpse | undefined;
  punch: PunchObjects | undefined;
  /** A copy of `ino` the punch could not reach was recorded stale: clients refetch the layout, the resync rewrites it. */
  onStale(ino: number): void;
  log: Logger;
}

/** What a size report of one client on one inode may do (decided before its transaction). */
export type Settled =
  | { trusted: true }
  /** Not trusted: as of `epoch` the objects end at `size` (undefined: unknown, the report grows nothing). */
  | { trusted: false; epoch: number; size: number | undefined };

const SETTLE_TIMEOUT_MS = 10_000;

/**
 * Before the MDS applies `client`'s report of `ino`'s size: a report made in the inode's current
 * epoch with no punch pending is trusted. Otherwise the pending punch is finished first (the MDS
 * cuts the objects itself: its truncating client failed or died, and old bytes must never come
 * back), then the objects are glimpsed; that size replaces the report's.
 */
export async function settleReport(d: SettleDeps, ino: number, client: string): Promise<Settled> {
  const punch = pendingPunch(d.db, ino);
  if (punch === undefined && inEpoch(d.db, ino, client)) return { trusted: true };
  const epoch = epochOf(d.db, ino);
  const layout = d.layoutOf(ino);
  if (!layout) return { trusted: false, epoch, size: undefined };
  try {
    if (punch !== undefined) await finishPunch(d, ino, layout, punch);
    if (!d.glimpse) return { trusted: false, epoch, size: undefined };
    return {
      trusted: false,
      epoch,
      size: await d.glimpse(ino, layout, AbortSignal.timeout(SETTLE_TIMEOUT_MS)),
    };
  } catch (err) {
    d.log.warn(
      'cannot read a file’s size from its OSTs: a size report that may predate a truncate grows nothing',
      {
        ino,
        client,
        error: String(err),
      },
    );
    return { trusted: false, epoch, size: undefined };
  }
}

/** How long the MDS tries again to finish a pending cut whose OSTs do not answer (an OSS restarting). */
export const CUT_RETRY_MS = 10_000;

/**
 * Finishes `ino`'s pending cut, if any (read again before each attempt: another may have finished
 * it). While a stripe's OSTs do not answer (copyDown) it tries again with backoff for CUT_RETRY_MS,
 * as a client's I/O waits for a restarting OSS; then, or at once on any other error, it rejects.
 */
export async function finishPendingCut(d: SettleDeps, ino: number): Promise<void> {
  const giveUpAt = Date.now() + CUT_RETRY_MS;
  for (let backoff = 100; ; backoff = Math.min(backoff * 2, 1_000)) {
    const size = pendingPunch(d.db, ino);
    const layout = size === undefined ? null : d.layoutOf(ino);
    if (size === undefined || !layout) return;
    try {
      await finishPunch(d, ino, layout, size);
      return;
    } catch (err) {
      if (!copyDown(err) || Date.now() + backoff >= giveUpAt) throw err;
      await sleep(backoff);
    }
  }
}

/** Cuts `ino`'s objects to `size` and records the punch done; rejects (punch still pending) if it cannot. */
export async function finishPunch(d: SettleDeps, ino: number, layout: Layout, size: number): Promise<void> {
  if (!d.punch) throw new Error('this MDS cannot punch objects');
  const { down } = await d.punch(ino, layout, size, AbortSignal.timeout(SETTLE_TIMEOUT_MS));
  d.log.info('finished a truncate its client did not', { ino, size, copiesDown: down.length });
  // A copy that is down keeps the old bytes: stale, it is not read and its resync copies the cut one.
  await d.apply(() => {
    for (const c of down) markStale(d.db, layout, { ino, ...c, since: Date.now() });
    clearPunch(d.db, ino, size);
  });
  if (down.length > 0) d.onStale(ino);
}

/**
 * Inside the report's transaction: the end the report may grow the file to (0: none), and the
 * client's epoch moved to the settled one. A truncate committed since the settling makes the
 * report grow nothing (its writes may predate that truncate; the client's next report settles again).
 */
export function reportedEnd(db: DatabaseSync, ino: number, client: string, end: number, s: Settled): number {
  if (s.trusted) return pendingPunch(db, ino) === undefined && inEpoch(db, ino, client) ? end : 0;
  if (s.size === undefined || epochOf(db, ino) !== s.epoch || pendingPunch(db, ino) !== undefined) return 0;
  settledAt(db, ino, client, s.epoch);
  return s.size;
}
