// Truncates whose OST punches are not yet confirmed: recorded with the size change, cleared by whoever punched (the client, or the MDS itself).
import type { DatabaseSync, StatementSync } from 'node:sqlite';

/**
 * A size change that drops bytes is recorded here in the same transaction, and cleared when a
 * client reports the objects punched. If the truncating client dies first (or its punch failed),
 * the MDS finishes it itself before an open, a PW data lock's grant (pw-grant.ts), a size report,
 * an O_APPEND reservation or a truncate may read or grow the file (size-settle.ts), so old bytes
 * past the size never show again (the objects still hold them until punched).
 */
const statements = new WeakMap<DatabaseSync, Record<'record' | 'pending' | 'clear', StatementSync>>();

/** The table's statements, prepared once per database (the table is in the MDT's schema, schema.ts). */
function st(db: DatabaseSync) {
  let s = statements.get(db);
  if (!s) {
    db.exec('CREATE TABLE IF NOT EXISTS pending_punch (ino INTEGER PRIMARY KEY, size INTEGER NOT NULL)');
    s = {
      record: db.prepare(
        'INSERT INTO pending_punch (ino, size) VALUES (?, ?) ON CONFLICT(ino) DO UPDATE SET size = MIN(size, excluded.size)',
      ),
      pending: db.prepare('SELECT size FROM pending_punch WHERE ino = ?'),
      clear: db.prepare('DELETE FROM pending_punch WHERE ino = ? AND size >= ?'),
    };
    statements.set(db, s);
  }
  return s;
}

/** Records that `ino`'s objects must be cut to `size` (keeping the smallest pending size). */
export function recordPunch(db: DatabaseSync, ino: number, size: number): void {
  st(db).record.run(ino, size);
}

/** The size `ino`'s objects must still be cut to, if a punch is pending. */
export function pendingPunch(db: DatabaseSync, ino: number): number | undefined {
  const row = st(db).pending.get(ino) as { size: number } | undefined;
  return row?.size;
}

/** A client cut the objects to `size`: the pending punch is done if it asked for no less. */
export function clearPunch(db: DatabaseSync, ino: number, size: number): void {
  st(db).clear.run(ino, size);
}
