// A file's data version on the MDT: a counter that moves whenever its bytes may have changed, so an export can tell the version it read from the one it ends on.

import type { DatabaseSync, StatementSync } from 'node:sqlite';

/**
 * The MDS never sees a write's bytes (they go to the OSTs), and mtime and size do not pin them
 * down: `touch -d`, `cp -p` or `rsync -t` restore an mtime over new bytes, a truncate and regrowth
 * can end at the same size, and two changes can fall in one clock tick. So every event through
 * which bytes can change moves the counter: a handle opened for writing, its close (writes it made
 * in between are on the OSTs by then) and a size change by setattr. Equal versions with no writer
 * open in between mean the bytes an export read are still the file's (as Lustre's data_version).
 */
const statements = new WeakMap<DatabaseSync, Record<'bump' | 'get' | 'forget', StatementSync>>();

/** The table's statements, prepared once per database (the table is in the MDT's schema, schema.ts). */
function st(db: DatabaseSync) {
  let s = statements.get(db);
  if (!s) {
    db.exec('CREATE TABLE IF NOT EXISTS data_version (ino INTEGER PRIMARY KEY, version INTEGER NOT NULL)');
    s = {
      bump: db.prepare(
        'INSERT INTO data_version (ino, version) VALUES (?, 1) ON CONFLICT(ino) DO UPDATE SET version = version + 1',
      ),
      get: db.prepare('SELECT version FROM data_version WHERE ino = ?'),
      forget: db.prepare('DELETE FROM data_version WHERE ino = ?'),
    };
    statements.set(db, s);
  }
  return s;
}

/** The bytes of `ino` may change (or have changed): its version moves on. */
export function bumpDataVersion(db: DatabaseSync, ino: number): void {
  st(db).bump.run(ino);
}

/** The data version of `ino` (0 for a file whose bytes never changed through a write handle or a resize). */
export function dataVersionOf(db: DatabaseSync, ino: number): number {
  return (st(db).get.get(ino) as { version: number } | undefined)?.version ?? 0;
}

/** Forgets the version of a deleted inode. */
export function forgetDataVersion(db: DatabaseSync, ino: number): void {
  st(db).forget.run(ino);
}
