// The MDT's changelog (Lustre's idea): namespace changes recorded in the transaction that makes them, read by registered users each with a persistent cursor.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { FsError } from '../../lib/errors.ts';
import type { ChangeRecord, ChangeType } from '../protocol/changelog-messages.ts';
import { ROOT_INO } from '../types.ts';

export type { ChangeRecord, ChangeType } from '../protocol/changelog-messages.ts';

const DDL = `
CREATE TABLE IF NOT EXISTS changelog (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  ino INTEGER NOT NULL,
  path TEXT NOT NULL,
  old_path TEXT,
  agent INTEGER NOT NULL,
  time REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS changelog_users (id TEXT PRIMARY KEY, cursor INTEGER NOT NULL);`;

type Names =
  | 'anyUser'
  | 'insert'
  | 'dirName'
  | 'dirParent'
  | 'fileName'
  | 'user'
  | 'addUser'
  | 'setCursor'
  | 'delUser'
  | 'read'
  | 'last'
  | 'purge';
const statements = new WeakMap<DatabaseSync, Record<Names, StatementSync>>();
/** Who waits for the next record, per database (see nextChange). */
const waiters = new WeakMap<DatabaseSync, Set<() => void>>();
/** Whether any user is registered, per database (only this module changes that). */
const active = new WeakMap<DatabaseSync, boolean>();

/**
 * The tables are made by the first registration (in its own transaction: made inside an operation
 * that fails, they would vanish with its rollback while the statements stayed).
 */
function tablesExist(db: DatabaseSync): boolean {
  return (
    db.prepare("SELECT 1 AS t FROM sqlite_master WHERE type = 'table' AND name = 'changelog_users'").get() !==
    undefined
  );
}

function st(db: DatabaseSync): Record<Names, StatementSync> {
  let s = statements.get(db);
  if (!s) {
    db.exec(DDL);
    const p = (sql: string) => db.prepare(sql);
    s = {
      anyUser: p('SELECT 1 AS u FROM changelog_users LIMIT 1'),
      insert: p('INSERT INTO changelog (type, ino, path, old_path, agent, time) VALUES (?, ?, ?, ?, ?, ?)'),
      dirName: p('SELECT name FROM dentries WHERE ino = ? AND parent = ? LIMIT 1'),
      dirParent: p('SELECT parent FROM inodes WHERE ino = ?'),
      fileName: p('SELECT parent, name FROM dentries WHERE ino = ? LIMIT 1'),
      user: p('SELECT cursor FROM changelog_users WHERE id = ?'),
      addUser: p('INSERT OR IGNORE INTO changelog_users (id, cursor) VALUES (?, ?)'),
      setCursor: p('UPDATE changelog_users SET cursor = MAX(cursor, ?) WHERE id = ?'),
      delUser: p('DELETE FROM changelog_users WHERE id = ?'),
      read: p('SELECT * FROM changelog WHERE seq > ? ORDER BY seq LIMIT ?'),
      last: p("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'changelog'), 0) AS seq"),
      purge: p('DELETE FROM changelog WHERE seq <= (SELECT MIN(cursor) FROM changelog_users)'),
    };
    statements.set(db, s);
  }
  return s;
}

/** The path of directory `dir` from the root ("" for the root itself), or undefined when it has none (removed). */
function dirPath(db: DatabaseSync, dir: number): string | undefined {
  const s = st(db);
  const names: string[] = [];
  for (let ino = dir, depth = 0; ino !== ROOT_INO; depth++) {
    const row = s.dirParent.get(ino) as { parent: number | null } | undefined;
    if (!row || row.parent === null || depth > 4096) return undefined;
    const name = s.dirName.get(ino, row.parent) as { name: string } | undefined;
    if (!name) return undefined;
    names.unshift(name.name);
    ino = row.parent;
  }
  return names.map((n) => `/${n}`).join('');
}

/** Whether any user reads the changelog (nothing is recorded otherwise). */
export function changelogActive(db: DatabaseSync): boolean {
  let a = active.get(db);
  if (a === undefined) {
    a = tablesExist(db) && st(db).anyUser.get() !== undefined;
    active.set(db, a);
  }
  return a;
}

/** What a change names: the entry (parent directory and name), and for a rename the old one. */
export interface ChangeSubject {
  ino: number;
  parent: number;
  name: string;
  oldParent?: number;
  oldName?: string;
}

/**
 * Records a change inside the operation's transaction (so it is recorded if and only if the change
 * is committed). Nothing is recorded while no user is registered. `agent`: made by an HSM agent.
 */
export function recordChange(
  db: DatabaseSync,
  type: ChangeType,
  subject: ChangeSubject,
  agent: boolean,
): void {
  if (!changelogActive(db)) return;
  const s = st(db);
  // An entry in a directory with no path (being removed) concerns nobody's association.
  const dir = dirPath(db, subject.parent);
  if (dir === undefined) return;
  const oldDir = subject.oldParent === undefined ? undefined : dirPath(db, subject.oldParent);
  const old = oldDir === undefined ? null : `${oldDir}/${subject.oldName ?? ''}`;
  s.insert.run(type, subject.ino, `${dir}/${subject.name}`, old, agent ? 1 : 0, Date.now());
  const w = waiters.get(db);
  waiters.delete(db);
  for (const wake of w ?? []) wake();
}

/**
 * Resolves true when the next record is made in `db` (inside its transaction: wait for the commit
 * before reading it), false when `signal` aborts first.
 */
export function nextChange(db: DatabaseSync, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const set = waiters.get(db) ?? new Set<() => void>();
    waiters.set(db, set);
    const wake = () => {
      signal.removeEventListener('abort', gone);
      resolve(true);
    };
    const gone = () => {
      waiters.get(db)?.delete(wake);
      resolve(false);
    };
    set.add(wake);
    signal.addEventListener('abort', gone, { once: true });
  });
}

/** The seq of the last record ever made (0 before any). */
export function lastChange(db: DatabaseSync): number {
  return tablesExist(db) ? (st(db).last.get() as { seq: number }).seq : 0;
}

/** A closed regular file (CLOSE): recorded under one of its names; nothing for a file with no name left. */
export function recordClose(db: DatabaseSync, ino: number, agent: boolean): void {
  recordOnInode(db, 'CLOSE', ino, agent);
}

/** A change of an inode (CLOSE, SATTR) recorded under one of its names; nothing for the root or an inode with no name left. */
export function recordOnInode(db: DatabaseSync, type: ChangeType, ino: number, agent: boolean): void {
  if (!changelogActive(db)) return;
  const at = st(db).fileName.get(ino) as { parent: number; name: string } | undefined;
  if (at) recordChange(db, type, { ino, parent: at.parent, name: at.name }, agent);
}

/** Registers `user` (idempotent): it reads the records made after this point. Returns its cursor. */
export function registerUser(db: DatabaseSync, user: string): number {
  const s = st(db);
  s.addUser.run(user, (s.last.get() as { seq: number }).seq);
  active.set(db, true);
  return (s.user.get(user) as { cursor: number }).cursor;
}

export function deregisterUser(db: DatabaseSync, user: string): void {
  if (!tablesExist(db)) return;
  st(db).delUser.run(user);
  st(db).purge.run();
  active.set(db, st(db).anyUser.get() !== undefined);
}

/** Up to `limit` records after `user`'s cursor. ENOENT for a user never registered. */
export function readChanges(db: DatabaseSync, user: string, limit: number): ChangeRecord[] {
  const s = tablesExist(db) ? st(db) : undefined;
  const u = s?.user.get(user) as { cursor: number } | undefined;
  if (!u) throw new FsError('ENOENT', `no changelog user ${user}; register it first`);
  const rows = s!.read.all(u.cursor, limit) as {
    seq: number;
    type: ChangeType;
    ino: number;
    path: string;
    old_path: string | null;
    agent: number;
    time: number;
  }[];
  return rows.map((r) => ({
    seq: r.seq,
    type: r.type,
    ino: r.ino,
    path: r.path,
    ...(r.old_path !== null && { oldPath: r.old_path }),
    agent: r.agent === 1,
    timeMs: r.time,
  }));
}

/** `user` is done with every record up to `upTo`: its cursor moves on and records every user is done with go. */
export function clearChanges(db: DatabaseSync, user: string, upTo: number): void {
  const s = tablesExist(db) ? st(db) : undefined;
  if (!s?.user.get(user)) throw new FsError('ENOENT', `no changelog user ${user}`);
  s.setCursor.run(upTo, user);
  s.purge.run();
}
