// The MDT's on-disk schema (node:sqlite): opening a database, its pragmas, and the tables of one namespace.

import { DatabaseSync } from 'node:sqlite';
import { NacreError } from '../../lib/errors.ts';
import { ROOT_INO, S_IFDIR } from '../types.ts';

export type Synchronous = 'NORMAL' | 'FULL';

const SCHEMA_VERSION = 1;

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inodes (
  ino INTEGER PRIMARY KEY AUTOINCREMENT,
  mode INTEGER NOT NULL,
  nlink INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  gid INTEGER NOT NULL,
  rdev INTEGER NOT NULL,
  size INTEGER NOT NULL,
  blocks INTEGER NOT NULL,
  atime REAL NOT NULL,
  mtime REAL NOT NULL,
  ctime REAL NOT NULL,
  generation INTEGER NOT NULL,
  parent INTEGER,
  layout TEXT,
  policy TEXT,
  target TEXT
);
CREATE TABLE IF NOT EXISTS dentries (
  cookie INTEGER PRIMARY KEY AUTOINCREMENT,
  parent INTEGER NOT NULL,
  name TEXT NOT NULL,
  ino INTEGER NOT NULL,
  type INTEGER NOT NULL,
  UNIQUE (parent, name)
);
CREATE INDEX IF NOT EXISTS dentries_by_cookie ON dentries (parent, cookie);
CREATE TABLE IF NOT EXISTS xattrs (
  ino INTEGER NOT NULL,
  name TEXT NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (ino, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS clients (id TEXT PRIMARY KEY, host TEXT NOT NULL, seen REAL NOT NULL);
CREATE TABLE IF NOT EXISTS handles (
  handle INTEGER PRIMARY KEY AUTOINCREMENT,
  ino INTEGER NOT NULL,
  client TEXT NOT NULL,
  flags INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS handles_by_ino ON handles (ino);
CREATE INDEX IF NOT EXISTS handles_by_client ON handles (client);
CREATE TABLE IF NOT EXISTS orphans (ino INTEGER PRIMARY KEY, since REAL NOT NULL);
CREATE TABLE IF NOT EXISTS pending_destroy (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ost INTEGER NOT NULL,
  object TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_destroy_by_ost ON pending_destroy (ost, id);
CREATE TABLE IF NOT EXISTS replies (
  client TEXT NOT NULL,
  xid INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  reply TEXT NOT NULL,
  PRIMARY KEY (client, xid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS replies_by_seq ON replies (client, seq);
CREATE TABLE IF NOT EXISTS stale_replicas (
  ino INTEGER NOT NULL,
  stripe INTEGER NOT NULL,
  ost INTEGER NOT NULL,
  gen INTEGER NOT NULL,
  since REAL NOT NULL,
  PRIMARY KEY (ino, stripe)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pending_punch (ino INTEGER PRIMARY KEY, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS data_version (ino INTEGER PRIMARY KEY, version INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS inodes_count_up AFTER INSERT ON inodes
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'inodes'; END;
CREATE TRIGGER IF NOT EXISTS inodes_count_down AFTER DELETE ON inodes
  BEGIN UPDATE counters SET value = value - 1 WHERE name = 'inodes'; END;
`;

/**
 * Opens (creating if needed) the database of one MDT at `path` (':memory:' for tests) in WAL mode,
 * locked for this connection alone (another opener fails with "database is locked").
 * synchronous=NORMAL survives a kill of the process; FULL also survives a power loss.
 */
export function openDatabase(path: string, synchronous: Synchronous, now: number): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    // One MDS process owns an MDT: exclusive locking makes a second opener fail instead of sharing it.
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(`PRAGMA synchronous = ${synchronous}`);
    db.exec('PRAGMA foreign_keys = OFF');
    db.exec('PRAGMA busy_timeout = 5000');
    // Savepoint journals (and temp tables) stay in memory: past 64 KiB SQLite would spill them to a
    // temp file, and where no temp dir is writable (the chart's read-only root file system) that is
    // SQLITE_IOERR_GETTEMPPATH, which rolls the whole group-commit batch back.
    db.exec('PRAGMA temp_store = MEMORY');
    db.exec('BEGIN IMMEDIATE');
    db.exec(DDL);
    const version = db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).get();
    if (!version) initialise(db, now);
    else if (Number(version['value']) !== SCHEMA_VERSION) {
      throw new NacreError(
        'SchemaMismatch',
        `MDT database ${path} has schema ${String(version['value'])}, want ${SCHEMA_VERSION}`,
      );
    }
    db.exec('COMMIT');
    return db;
  } catch (err) {
    if (db.isOpen) db.close();
    throw err;
  }
}

function initialise(db: DatabaseSync, now: number): void {
  db.prepare(`INSERT INTO meta (key, value) VALUES ('schema', ?)`).run(String(SCHEMA_VERSION));
  db.prepare(`INSERT INTO counters (name, value) VALUES ('inodes', 0)`).run();
  db.prepare(
    `INSERT INTO inodes (ino, mode, nlink, uid, gid, rdev, size, blocks, atime, mtime, ctime, generation, parent)
     VALUES (?, ?, 2, 0, 0, 0, 4096, 8, ?, ?, ?, 0, ?)`,
  ).run(ROOT_INO, S_IFDIR | 0o755, now, now, now, ROOT_INO);
}
