// Row-level access to one MDT database: prepared statements over inodes, dentries, xattrs, handles, orphans, the destroy log and the reply cache.
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { openDatabase, type Synchronous } from './schema.ts';

export interface InodeRow {
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blocks: number;
  atime: number;
  mtime: number;
  ctime: number;
  generation: number;
  /** For directories: the directory holding it (".."). */
  parent: number | null;
  /** JSON of the file's Layout (regular files). */
  layout: string | null;
  /** JSON of the directory's own LayoutPolicy. */
  policy: string | null;
  /** Symlink target. */
  target: string | null;
}

export type NewInode = Omit<InodeRow, 'ino'>;

export interface DentryRow {
  cookie: number;
  parent: number;
  name: string;
  ino: number;
  type: number;
}

export interface HandleRow {
  handle: number;
  ino: number;
  client: string;
  flags: number;
}

export interface DestroyRow {
  id: number;
  ost: number;
  object: string;
}

const INODE_COLUMNS =
  'mode, nlink, uid, gid, rdev, size, blocks, atime, mtime, ctime, generation, parent, layout, policy, target';

/**
 * Synchronous row access. It opens no transactions of its own: callers (GroupCommit) wrap every
 * mutation in one. Not safe to share between processes except through SQLite's own locking.
 */
export class Store {
  readonly db: DatabaseSync;
  readonly #s: Record<string, StatementSync>;

  constructor(path: string, opts: { synchronous?: Synchronous; now?: number } = {}) {
    this.db = openDatabase(path, opts.synchronous ?? 'NORMAL', opts.now ?? Date.now());
    const p = (sql: string) => this.db.prepare(sql);
    this.#s = {
      getInode: p('SELECT * FROM inodes WHERE ino = ?'),
      insertInode: p(
        `INSERT INTO inodes (${INODE_COLUMNS}) VALUES (${INODE_COLUMNS.split(',')
          .map(() => '?')
          .join(',')})`,
      ),
      updateInode: p(
        `UPDATE inodes SET ${INODE_COLUMNS.split(',')
          .map((c) => `${c.trim()} = ?`)
          .join(', ')} WHERE ino = ?`,
      ),
      deleteInode: p('DELETE FROM inodes WHERE ino = ?'),
      adjustDir: p('UPDATE inodes SET nlink = nlink + ?, mtime = ?, ctime = ? WHERE ino = ?'),
      inodeCount: p(`SELECT value FROM counters WHERE name = 'inodes'`),
      lookup: p('SELECT * FROM dentries WHERE parent = ? AND name = ?'),
      insertDentry: p('INSERT INTO dentries (parent, name, ino, type) VALUES (?, ?, ?, ?)'),
      deleteDentry: p('DELETE FROM dentries WHERE parent = ? AND name = ?'),
      retarget: p('UPDATE dentries SET ino = ?, type = ? WHERE parent = ? AND name = ?'),
      list: p('SELECT * FROM dentries WHERE parent = ? AND cookie > ? ORDER BY cookie LIMIT ?'),
      hasChildren: p('SELECT 1 FROM dentries WHERE parent = ? LIMIT 1'),
      getXattr: p('SELECT value FROM xattrs WHERE ino = ? AND name = ?'),
      setXattr: p('INSERT OR REPLACE INTO xattrs (ino, name, value) VALUES (?, ?, ?)'),
      deleteXattr: p('DELETE FROM xattrs WHERE ino = ? AND name = ?'),
      listXattrs: p('SELECT name FROM xattrs WHERE ino = ? ORDER BY name'),
      deleteXattrs: p('DELETE FROM xattrs WHERE ino = ?'),
      insertHandle: p('INSERT INTO handles (ino, client, flags) VALUES (?, ?, ?)'),
      getHandle: p('SELECT * FROM handles WHERE handle = ?'),
      deleteHandle: p('DELETE FROM handles WHERE handle = ?'),
      openCount: p('SELECT count(*) AS n FROM handles WHERE ino = ?'),
      clientOpenCount: p('SELECT count(*) AS n FROM handles WHERE ino = ? AND client = ?'),
      handlesOf: p('SELECT * FROM handles WHERE client = ?'),
      addOrphan: p('INSERT OR REPLACE INTO orphans (ino, since) VALUES (?, ?)'),
      removeOrphan: p('DELETE FROM orphans WHERE ino = ?'),
      isOrphan: p('SELECT 1 FROM orphans WHERE ino = ?'),
      orphans: p('SELECT ino FROM orphans'),
      queueDestroy: p('INSERT INTO pending_destroy (ost, object) VALUES (?, ?)'),
      unqueueDestroy: p('DELETE FROM pending_destroy WHERE ost = ? AND object = ?'),
      destroyOsts: p('SELECT DISTINCT ost FROM pending_destroy'),
      pendingFor: p('SELECT * FROM pending_destroy WHERE ost = ? ORDER BY id LIMIT ?'),
      removeDestroyed: p('DELETE FROM pending_destroy WHERE ost = ? AND id <= ? AND id >= ?'),
      pendingCount: p('SELECT count(*) AS n FROM pending_destroy'),
      getReply: p('SELECT reply FROM replies WHERE client = ? AND xid = ?'),
      putReply: p('INSERT OR REPLACE INTO replies (client, xid, seq, reply) VALUES (?, ?, ?, ?)'),
      maxReplySeq: p('SELECT max(seq) AS s FROM replies WHERE client = ?'),
      trimReplies: p('DELETE FROM replies WHERE client = ? AND seq <= ?'),
      deleteReplies: p('DELETE FROM replies WHERE client = ?'),
      upsertClient: p('INSERT OR REPLACE INTO clients (id, host, seen) VALUES (?, ?, ?)'),
      deleteClient: p('DELETE FROM clients WHERE id = ?'),
      clients: p('SELECT id FROM clients UNION SELECT DISTINCT client AS id FROM handles'),
    };
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  #one<T>(name: string, ...params: SQLInputValue[]): T | undefined {
    return this.#s[name]!.get(...params) as T | undefined;
  }
  #all<T>(name: string, ...params: SQLInputValue[]): T[] {
    return this.#s[name]!.all(...params) as T[];
  }
  #run(name: string, ...params: SQLInputValue[]): { changes: number; lastInsertRowid: number } {
    const r = this.#s[name]!.run(...params);
    return { changes: Number(r.changes), lastInsertRowid: Number(r.lastInsertRowid) };
  }

  getInode(ino: number): InodeRow | undefined {
    return this.#one<InodeRow>('getInode', ino);
  }
  insertInode(row: NewInode): number {
    return this.#run('insertInode', ...inodeValues(row)).lastInsertRowid;
  }
  updateInode(row: InodeRow): void {
    this.#run('updateInode', ...inodeValues(row), row.ino);
  }
  deleteInode(ino: number): void {
    this.#run('deleteInode', ino);
  }
  /** nlink += delta and mtime = ctime = now on a directory whose entries changed. */
  adjustDir(ino: number, nlinkDelta: number, now: number): void {
    this.#run('adjustDir', nlinkDelta, now, now, ino);
  }
  inodeCount(): number {
    return Number(this.#one<{ value: number }>('inodeCount')?.value ?? 0);
  }

  lookup(parent: number, name: string): DentryRow | undefined {
    return this.#one<DentryRow>('lookup', parent, name);
  }
  insertDentry(parent: number, name: string, ino: number, type: number): void {
    this.#run('insertDentry', parent, name, ino, type);
  }
  deleteDentry(parent: number, name: string): void {
    this.#run('deleteDentry', parent, name);
  }
  /** Points an existing entry at another inode, keeping its readdir cookie. */
  retarget(parent: number, name: string, ino: number, type: number): void {
    this.#run('retarget', ino, type, parent, name);
  }
  /** Entries of `parent` with cookie > `after`, in cookie order. */
  list(parent: number, after: number, limit: number): DentryRow[] {
    return this.#all<DentryRow>('list', parent, after, limit);
  }
  hasChildren(parent: number): boolean {
    return this.#one('hasChildren', parent) !== undefined;
  }

  getXattr(ino: number, name: string): Buffer | undefined {
    const row = this.#one<{ value: Uint8Array }>('getXattr', ino, name);
    return row ? Buffer.from(row.value) : undefined;
  }
  setXattr(ino: number, name: string, value: Buffer): void {
    this.#run('setXattr', ino, name, value);
  }
  deleteXattr(ino: number, name: string): boolean {
    return this.#run('deleteXattr', ino, name).changes > 0;
  }
  listXattrs(ino: number): string[] {
    return this.#all<{ name: string }>('listXattrs', ino).map((r) => r.name);
  }
  deleteXattrs(ino: number): void {
    this.#run('deleteXattrs', ino);
  }

  insertHandle(ino: number, client: string, flags: number): number {
    return this.#run('insertHandle', ino, client, flags).lastInsertRowid;
  }
  getHandle(handle: number): HandleRow | undefined {
    return this.#one<HandleRow>('getHandle', handle);
  }
  deleteHandle(handle: number): void {
    this.#run('deleteHandle', handle);
  }
  openCount(ino: number, client?: string): number {
    const row =
      client === undefined
        ? this.#one<{ n: number }>('openCount', ino)
        : this.#one<{ n: number }>('clientOpenCount', ino, client);
    return Number(row?.n ?? 0);
  }
  handlesOf(client: string): HandleRow[] {
    return this.#all<HandleRow>('handlesOf', client);
  }

  addOrphan(ino: number, now: number): void {
    this.#run('addOrphan', ino, now);
  }
  removeOrphan(ino: number): void {
    this.#run('removeOrphan', ino);
  }
  isOrphan(ino: number): boolean {
    return this.#one('isOrphan', ino) !== undefined;
  }
  orphans(): number[] {
    return this.#all<{ ino: number }>('orphans').map((r) => r.ino);
  }

  queueDestroy(ost: number, object: string): void {
    this.#run('queueDestroy', ost, object);
  }
  unqueueDestroy(ost: number, object: string): void {
    this.#run('unqueueDestroy', ost, object);
  }
  destroyOsts(): number[] {
    return this.#all<{ ost: number }>('destroyOsts').map((r) => r.ost);
  }
  pendingFor(ost: number, limit: number): DestroyRow[] {
    return this.#all<DestroyRow>('pendingFor', ost, limit);
  }
  /** Removes the rows of `ost` with ids in [fromId, toId]. */
  removeDestroyed(ost: number, fromId: number, toId: number): void {
    this.#run('removeDestroyed', ost, toId, fromId);
  }
  pendingCount(): number {
    return Number(this.#one<{ n: number }>('pendingCount')?.n ?? 0);
  }

  getReply(client: string, xid: number): string | undefined {
    return this.#one<{ reply: string }>('getReply', client, xid)?.reply;
  }
  putReply(client: string, xid: number, seq: number, reply: string): void {
    this.#run('putReply', client, xid, seq, reply);
  }
  maxReplySeq(client: string): number {
    return Number(this.#one<{ s: number | null }>('maxReplySeq', client)?.s ?? 0);
  }
  trimReplies(client: string, upToSeq: number): void {
    this.#run('trimReplies', client, upToSeq);
  }

  upsertClient(id: string, host: string, now: number): void {
    this.#run('upsertClient', id, host, now);
  }
  /** Forgets a client: its row and its reply cache (not its handles). */
  deleteClient(id: string): void {
    this.#run('deleteClient', id);
    this.#run('deleteReplies', id);
  }
  /** Every client the database remembers: registered ones and any holding handles. */
  clients(): string[] {
    return this.#all<{ id: string }>('clients').map((r) => r.id);
  }
}

function inodeValues(r: NewInode): SQLInputValue[] {
  return [
    r.mode,
    r.nlink,
    r.uid,
    r.gid,
    r.rdev,
    r.size,
    r.blocks,
    r.atime,
    r.mtime,
    r.ctime,
    r.generation,
    r.parent,
    r.layout,
    r.policy,
    r.target,
  ];
}
