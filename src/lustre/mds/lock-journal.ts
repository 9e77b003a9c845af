// Locks kept across an MDS restart: each inode's POSIX and flock locks as one row, rewritten on every change, loaded at start.
import type { DatabaseSync } from 'node:sqlite';
import type { LockState } from './locks.ts';

/**
 * The lock table's durable copy in the MDT's database. A lock is granted (and its reply sent)
 * after its row is written, so an MDS killed with -9 comes back holding every lock it granted;
 * clients that do not reconnect lose theirs after the lock grace period, as before a restart.
 */
export class LockJournal {
  readonly #db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    db.exec('CREATE TABLE IF NOT EXISTS lock_state (ino INTEGER PRIMARY KEY, state TEXT NOT NULL)');
  }

  save(ino: number, state: LockState | undefined): void {
    if (state) {
      this.#db
        .prepare('INSERT OR REPLACE INTO lock_state (ino, state) VALUES (?, ?)')
        .run(ino, JSON.stringify(state));
    } else {
      this.#db.prepare('DELETE FROM lock_state WHERE ino = ?').run(ino);
    }
  }

  load(): Map<number, LockState> {
    const rows = this.#db.prepare('SELECT ino, state FROM lock_state').all() as {
      ino: number;
      state: string;
    }[];
    return new Map(rows.map((r) => [r.ino, JSON.parse(r.state) as LockState]));
  }
}
