// The stale-replica table of an MDT: mirror copies that missed writes, with a generation bumped by every report.
import type { DatabaseSync } from 'node:sqlite';
import { FsError } from '../../lib/errors.ts';
import type { Layout } from '../types.ts';

/** One stale copy: OST `ost` holds stripe `stripe` of `ino` but missed writes. */
export interface StaleRecord {
  ino: number;
  stripe: number;
  ost: number;
  /** Bumped by every markStale of this copy; the resync clears the record only if it did not change. */
  gen: number;
  /** When the copy was last reported stale (ms since the epoch). */
  since: number;
}

/**
 * Records (or re-reports) that `ost`'s copy of stripe `stripe` of `ino` missed a write. Must run
 * inside the MDT's commit transaction. EINVAL if `ost` does not hold that stripe of a mirrored
 * layout; EIO if the other copy of the stripe is the stale one (no up-to-date copy would be left).
 */
export function markStale(db: DatabaseSync, layout: Layout | null, rec: Omit<StaleRecord, 'gen'>): void {
  const { ino, stripe, ost, since } = rec;
  const primary = layout?.osts[stripe];
  const mirror = layout?.mirrors?.[stripe];
  if (primary === undefined || mirror === undefined || (ost !== primary && ost !== mirror)) {
    throw new FsError('EINVAL', `OST ${ost} holds no mirrored copy of stripe ${stripe} of inode ${ino}`);
  }
  const row = db.prepare('SELECT ost FROM stale_replicas WHERE ino = ? AND stripe = ?').get(ino, stripe);
  if (row && Number(row['ost']) !== ost) {
    throw new FsError('EIO', `both copies of stripe ${stripe} of inode ${ino} would be stale`);
  }
  db.prepare(
    `INSERT INTO stale_replicas (ino, stripe, ost, gen, since) VALUES (?, ?, ?, 1, ?)
     ON CONFLICT (ino, stripe) DO UPDATE SET gen = gen + 1, since = excluded.since`,
  ).run(ino, stripe, ost, since);
}

/** The stale copies of one inode, for its layout. */
export function staleOf(db: DatabaseSync, ino: number): { stripe: number; ost: number }[] {
  return db
    .prepare('SELECT stripe, ost FROM stale_replicas WHERE ino = ? ORDER BY stripe')
    .all(ino)
    .map((r) => ({ stripe: Number(r['stripe']), ost: Number(r['ost']) }));
}

/** `layout` with its `stale` set filled in (absent when nothing is stale). */
export function withStale(db: DatabaseSync, ino: number, layout: Layout | null): Layout | null {
  if (!layout?.mirrors) return layout;
  const stale = staleOf(db, ino);
  const { stale: _old, ...rest } = layout;
  return stale.length > 0 ? { ...rest, stale } : rest;
}

/** Every stale record, oldest report first. */
export function staleRecords(db: DatabaseSync): StaleRecord[] {
  return db
    .prepare('SELECT ino, stripe, ost, gen, since FROM stale_replicas ORDER BY since, ino, stripe')
    .all()
    .map((r) => ({
      ino: Number(r['ino']),
      stripe: Number(r['stripe']),
      ost: Number(r['ost']),
      gen: Number(r['gen']),
      since: Number(r['since']),
    }));
}

/** Deletes the record if it is still at generation `rec.gen` (no write was reported since); true if it did. */
export function clearStale(db: DatabaseSync, rec: StaleRecord): boolean {
  const r = db
    .prepare('DELETE FROM stale_replicas WHERE ino = ? AND stripe = ? AND ost = ? AND gen = ?')
    .run(rec.ino, rec.stripe, rec.ost, rec.gen);
  return Number(r.changes) > 0;
}

/** Forgets every stale copy of an inode (it is gone). */
export function dropStale(db: DatabaseSync, ino: number): void {
  db.prepare('DELETE FROM stale_replicas WHERE ino = ?').run(ino);
}
