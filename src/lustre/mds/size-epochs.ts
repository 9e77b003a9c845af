// Size epochs: which clients' size reports may predate a truncate (so the MDS takes the size from the objects instead).
import type { DatabaseSync } from 'node:sqlite';

/**
 * Clients write to the OSTs and report the end of their writes later (release, extendSize). A
 * report that arrives after another client's truncate may describe writes made before it: taken
 * as it is, it would grow the file again over punched (zeroed) bytes. Every truncate that drops
 * bytes starts a new epoch of the inode; a client's reports are trusted only while the epoch it
 * last synchronised with (at open, or its last settled report) is the inode's current one.
 * Otherwise the MDS reads the size from the objects (a glimpse, after any pending punch), which
 * orders the client's writes correctly against the truncate: the OSTs serialise them.
 */
function ensure(db: DatabaseSync): void {
  db.exec(`CREATE TABLE IF NOT EXISTS size_epoch (ino INTEGER PRIMARY KEY, epoch INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS writer_epoch (ino INTEGER NOT NULL, client TEXT NOT NULL, epoch INTEGER NOT NULL,
  PRIMARY KEY (ino, client))`);
}

const ready = new WeakSet<DatabaseSync>();

function db0(db: DatabaseSync): DatabaseSync {
  if (!ready.has(db)) {
    ensure(db);
    ready.add(db);
  }
  return db;
}

/** The inode's current epoch (0 until its first truncate). */
export function epochOf(db: DatabaseSync, ino: number): number {
  const row = db0(db).prepare('SELECT epoch FROM size_epoch WHERE ino = ?').get(ino) as
    | { epoch: number }
    | undefined;
  return row?.epoch ?? 0;
}

/**
 * A truncate dropped bytes of `ino`: a new epoch. The truncating client itself is in it (it
 * dropped its own unreported writes past the new size before asking).
 */
export function bumpEpoch(db: DatabaseSync, ino: number, client: string): void {
  db0(db)
    .prepare(
      'INSERT INTO size_epoch (ino, epoch) VALUES (?, 1) ON CONFLICT(ino) DO UPDATE SET epoch = epoch + 1',
    )
    .run(ino);
  db.prepare('UPDATE writer_epoch SET epoch = ? WHERE ino = ? AND client = ?').run(
    epochOf(db, ino),
    ino,
    client,
  );
}

/**
 * `client` opened `ino` for writing: it starts in the current epoch, unless it already has an
 * older one (a handle it had open before a truncate may still hold unreported writes). With
 * `fresh` (the open itself truncated), it is in the current epoch whatever it had.
 */
export function noteWriter(db: DatabaseSync, ino: number, client: string, fresh = false): void {
  const conflict = fresh ? 'DO UPDATE SET epoch = excluded.epoch' : 'DO NOTHING';
  db0(db)
    .prepare(
      `INSERT INTO writer_epoch (ino, client, epoch) VALUES (?, ?, ?) ON CONFLICT(ino, client) ${conflict}`,
    )
    .run(ino, client, epochOf(db, ino));
}

/** Whether `client`'s size reports on `ino` can be taken as they are. */
export function inEpoch(db: DatabaseSync, ino: number, client: string): boolean {
  const row = db0(db)
    .prepare('SELECT epoch FROM writer_epoch WHERE ino = ? AND client = ?')
    .get(ino, client) as { epoch: number } | undefined;
  return row !== undefined && row.epoch === epochOf(db, ino);
}

/** `client`'s report on `ino` was settled against the objects as of `epoch`. */
export function settledAt(db: DatabaseSync, ino: number, client: string, epoch: number): void {
  db0(db).prepare('UPDATE writer_epoch SET epoch = ? WHERE ino = ? AND client = ?').run(epoch, ino, client);
}

/** After a release: forgets `client`'s epoch on `ino` once it has no handle open for writing there. */
export function writerClosed(db: DatabaseSync, ino: number, client: string): void {
  db0(db)
    .prepare(
      `DELETE FROM writer_epoch WHERE ino = ? AND client = ? AND NOT EXISTS
        (SELECT 1 FROM handles WHERE ino = ? AND client = ? AND (flags & 3) != 0)`,
    )
    .run(ino, client, ino, client);
}
