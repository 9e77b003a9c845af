// Truncates whose OST punches are not yet confirmed: recorded with the size change, cleared by whoever punched (the client, or the MDS itself).
import type { DatabaseSync } from 'node:sqlite';

/**
 * A size change that drops bytes is recorded here in the same transaction, and cleared when a
 * client reports the objects punched. If the truncating client dies first (or its punch failed),
 * the next open of the file hands the punch to its opener, and the MDS finishes it itself before a
 * size report, an O_APPEND reservation or a truncate may grow the file (size-settle.ts), so old
 * bytes past the size never show again (the objects still hold them until punched).
 */
function ensure(db: DatabaseSync): void {
  db.exec('CREATE TABLE IF NOT EXISTS pending_punch (ino INTEGER PRIMARY KEY, size INTEGER NOT NULL)');
}

/** Records that `ino`'s objects must be cut to `size` (keeping the smallest pending size). */
export function recordPunch(db: DatabaseSync, ino: number, size: number): void {
  ensure(db);
  db.prepare(
    'INSERT INTO pending_punch (ino, size) VALUES (?, ?) ON CONFLICT(ino) DO UPDATE SET size = MIN(size, excluded.size)',
  ).run(ino, size);
}

/** The size `ino`'s objects must still be cut to, if a punch is pending. */
export function pendingPunch(db: DatabaseSync, ino: number): number | undefined {
  ensure(db);
  const row = db.prepare('SELECT size FROM pending_punch WHERE ino = ?').get(ino) as
    | { size: number }
    | undefined;
  return row?.size;
}

/** A client cut the objects to `size`: the pending punch is done if it asked for no less. */
export function clearPunch(db: DatabaseSync, ino: number, size: number): void {
  ensure(db);
  db.prepare('DELETE FROM pending_punch WHERE ino = ? AND size >= ?').run(ino, size);
}
