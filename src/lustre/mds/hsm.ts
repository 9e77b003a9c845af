// HSM state per file on the MDT (Lustre's hsm_state flags and archive location): read, set, release, and marking dirty on change.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { FsError } from '../../lib/errors.ts';
import {
  HS_ALL,
  HS_ARCHIVED,
  HS_DIRTY,
  HS_EXISTS,
  HS_LOST,
  HS_NOARCHIVE,
  HS_NORELEASE,
  HS_RELEASED,
  HS_USER_MASK,
  type HsmReplacement,
  type HsmState,
} from '../protocol/hsm-messages.ts';
import { S_IFREG } from '../types.ts';
import type { NsCore, OpContext } from './inodes.ts';
import { typeOf } from './inodes.ts';
import { layoutObjects } from './layout.ts';
import { isRoot } from './perm.ts';

export type { HsmReplacement, HsmState } from '../protocol/hsm-messages.ts';

export {
  HS_ALL,
  HS_ARCHIVED,
  HS_DIRTY,
  HS_EXISTS,
  HS_LOST,
  HS_NOARCHIVE,
  HS_NONE,
  HS_NORELEASE,
  HS_RELEASED,
  HS_USER_MASK,
} from '../protocol/hsm-messages.ts';

export const HSM_DDL = `
CREATE TABLE IF NOT EXISTS hsm (
  ino INTEGER PRIMARY KEY,
  flags INTEGER NOT NULL,
  archive_id INTEGER NOT NULL,
  location TEXT
);`;

const statements = new WeakMap<DatabaseSync, Record<'get' | 'put' | 'del', StatementSync>>();

function st(db: DatabaseSync) {
  let s = statements.get(db);
  if (!s) {
    db.exec(HSM_DDL);
    s = {
      get: db.prepare('SELECT flags, archive_id, location FROM hsm WHERE ino = ?'),
      put: db.prepare('INSERT OR REPLACE INTO hsm (ino, flags, archive_id, location) VALUES (?, ?, ?, ?)'),
      del: db.prepare('DELETE FROM hsm WHERE ino = ?'),
    };
    statements.set(db, s);
  }
  return s;
}

export function hsmGet(db: DatabaseSync, ino: number): HsmState {
  const row = st(db).get.get(ino) as
    | { flags: number; archive_id: number; location: string | null }
    | undefined;
  return row
    ? { flags: row.flags, archiveId: row.archive_id, location: row.location }
    : { flags: 0, archiveId: 0, location: null };
}

function put(db: DatabaseSync, ino: number, s: HsmState): void {
  if (s.flags === 0 && s.location === null) st(db).del.run(ino);
  else st(db).put.run(ino, s.flags, s.archiveId, s.location);
}

export interface HsmChange {
  set: number;
  clear: number;
  archiveId?: number;
  /** A new archive location (null removes it). */
  location?: string | null;
}

/**
 * hsm_set / hsm_clear. The owner may change NORELEASE and NOARCHIVE; every other flag, the archive
 * id and the location are root's (the HSM agent's): EPERM otherwise. RELEASED is only ever set by
 * release and cleared by a completed restore: EINVAL here. Unknown bits are EINVAL.
 */
export function hsmSet(ns: NsCore, op: OpContext, ino: number, c: HsmChange): HsmState {
  const row = ns.inode(ino);
  if (typeOf(row.mode) !== S_IFREG) throw new FsError('EINVAL', 'HSM state applies to regular files only');
  if ((c.set | c.clear) & ~HS_ALL)
    throw new FsError('EINVAL', `unknown HSM flags 0x${((c.set | c.clear) & ~HS_ALL).toString(16)}`);
  if ((c.set | c.clear) & HS_RELEASED)
    throw new FsError('EINVAL', 'the released flag changes only by hsm_release and hsm_restore');
  const privileged =
    ((c.set | c.clear) & ~HS_USER_MASK) !== 0 || c.archiveId !== undefined || c.location !== undefined;
  if (privileged && !isRoot(op.cred))
    throw new FsError('EPERM', 'only root may change HSM flags other than norelease and noarchive');
  if (!privileged && !isRoot(op.cred) && op.cred.uid !== row.uid)
    throw new FsError('EPERM', 'only the owner or root may change HSM flags');
  const cur = hsmGet(ns.store.db, ino);
  const next: HsmState = {
    flags: (cur.flags | c.set) & ~c.clear,
    archiveId: c.archiveId ?? cur.archiveId,
    location: c.location === undefined ? cur.location : c.location,
  };
  if (next.flags & (HS_DIRTY | HS_ARCHIVED)) next.flags |= HS_EXISTS;
  put(ns.store.db, ino, next);
  op.fx.inode(ino, true);
  return next;
}

/**
 * hsm_release: frees the file's OST objects, keeping its attributes and layout (a restore refills
 * the same objects). The copy in the archive must be current: EPERM unless archived and not
 * dirty, lost or norelease; EBUSY while any client has the file open. Releasing a released file
 * changes nothing. Root or the owner.
 */
export function hsmRelease(ns: NsCore, op: OpContext, ino: number): HsmState {
  const row = ns.inode(ino);
  if (typeOf(row.mode) !== S_IFREG) throw new FsError('EINVAL', 'only regular files can be released');
  if (!isRoot(op.cred) && op.cred.uid !== row.uid)
    throw new FsError('EPERM', 'only the owner or root may release a file');
  const cur = hsmGet(ns.store.db, ino);
  if (cur.flags & HS_RELEASED) return cur;
  if (!(cur.flags & HS_ARCHIVED))
    throw new FsError('EPERM', 'the file is not archived: archive (export) it before releasing');
  if (cur.flags & HS_DIRTY)
    throw new FsError(
      'EPERM',
      'the file changed since it was archived (dirty): export it again before releasing',
    );
  if (cur.flags & (HS_LOST | HS_NORELEASE))
    throw new FsError('EPERM', 'the file is marked lost or norelease');
  if (ns.store.openCount(ino) > 0) throw new FsError('EBUSY', 'the file is open');
  const layout = ns.layoutOf(row);
  if (layout) {
    for (const { ost, object } of layoutObjects(ino, layout)) ns.store.queueDestroy(ost, object);
    op.fx.destroyQueued = true;
  }
  row.blocks = 0;
  ns.store.updateInode(row);
  const next = { ...cur, flags: cur.flags | HS_RELEASED };
  put(ns.store.db, ino, next);
  op.fx.inode(ino, true);
  return next;
}

/**
 * A file with an archived copy changed (opened for writing, truncated, resized): it becomes dirty.
 * With `truncated`, its old content no longer matters, so it is not released any more either.
 * Nothing for files without HSM state.
 */
export function hsmMarkDirty(db: DatabaseSync, ino: number, truncated = false): void {
  const cur = hsmGet(db, ino);
  if (!(cur.flags & HS_EXISTS)) return;
  const flags = (cur.flags | HS_DIRTY) & ~(truncated ? HS_RELEASED : 0);
  if (flags !== cur.flags) put(db, ino, { ...cur, flags });
}

/** A restore completed: the content is back on the OSTs. */
export function hsmRestored(db: DatabaseSync, ino: number): HsmState {
  const cur = hsmGet(db, ino);
  const next = { ...cur, flags: cur.flags & ~HS_RELEASED };
  put(db, ino, next);
  return next;
}

/** Whether the file's OST objects still have to be destroyed after a release (a restore waits for that). */
export function releaseDraining(ns: NsCore, ino: number): boolean {
  const row = ns.store.getInode(ino);
  const layout = row ? ns.layoutOf(row) : null;
  if (!layout) return false;
  const q = ns.store.db.prepare('SELECT 1 FROM pending_destroy WHERE ost = ? AND object = ? LIMIT 1');
  return layoutObjects(ino, layout).some(({ ost, object }) => q.get(ost, object) !== undefined);
}

/** Forgets the state of a deleted inode. */
export function hsmForget(db: DatabaseSync, ino: number): void {
  st(db).del.run(ino);
}

/**
 * A newer version in the archive replaces the file (import of a changed object, the archive wins):
 * in one step the file takes the new attributes and location and becomes released, its old objects
 * freed. Root only; EBUSY while the file is open (never swapped under a reader); EINVAL for a
 * non-regular file.
 */
export function hsmReplace(ns: NsCore, op: OpContext, ino: number, r: HsmReplacement): HsmState {
  const row = ns.inode(ino);
  if (typeOf(row.mode) !== S_IFREG)
    throw new FsError('EINVAL', 'only regular files take a new archived version');
  if (!isRoot(op.cred)) throw new FsError('EPERM', 'only root replaces a file from the archive');
  if (ns.store.openCount(ino) > 0) throw new FsError('EBUSY', 'the file is open');
  const cur = hsmGet(ns.store.db, ino);
  if (!(cur.flags & HS_RELEASED)) {
    const layout = ns.layoutOf(row);
    if (layout) {
      for (const { ost, object } of layoutObjects(ino, layout)) ns.store.queueDestroy(ost, object);
      op.fx.destroyQueued = true;
    }
  }
  row.size = r.size;
  row.blocks = 0;
  if (r.mode !== undefined) row.mode = (row.mode & ~0o7777) | (r.mode & 0o7777);
  if (r.uid !== undefined) row.uid = r.uid;
  if (r.gid !== undefined) row.gid = r.gid;
  row.atime = r.atimeMs;
  row.mtime = r.mtimeMs;
  row.ctime = ns.clock();
  ns.store.updateInode(row);
  const next: HsmState = {
    flags: HS_EXISTS | HS_ARCHIVED | HS_RELEASED | (cur.flags & (HS_NORELEASE | HS_NOARCHIVE)),
    archiveId: r.archiveId,
    location: r.location,
  };
  put(ns.store.db, ino, next);
  op.fx.inode(ino, true);
  return next;
}
