// Open handles on the MDT: open with its access checks and O_TRUNC, release, and size growth after writes.
import { FsError } from '../../lib/errors.ts';
import { type Attr, type Layout, S_IFLNK, S_IFREG } from '../types.ts';
import { bumpDataVersion } from './data-version.ts';
import { checkFileSize } from './file-size.ts';
import { blocksFor, isDir, type NsCore, type OpContext, toAttr, typeOf } from './inodes.ts';
import { checkAccess, isRoot, MAY_READ, MAY_WRITE, S_ISGID, S_ISUID } from './perm.ts';
import { recordPunch } from './punches.ts';
import { bumpEpoch, noteWriter } from './size-epochs.ts';
import { writtenByAnyone } from './size-on-osts.ts';

export const O_ACCMODE = 0o3;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_TRUNC = 0o1000;

/**
 * Opens `ino` for the access mode in `flags` (EACCES without permission, EISDIR writing a
 * directory, ELOOP on a symlink, EINVAL for access mode 3). O_TRUNC on a regular file records size
 * 0 and new mtime/ctime. The handle keeps the inode alive after its last unlink until release.
 */
export function openInode(
  ns: NsCore,
  op: OpContext,
  ino: number,
  flags: number,
): { handle: number; attr: Attr; layout: Layout | null } {
  const row = ns.inode(ino);
  if (typeOf(row.mode) === S_IFLNK) throw new FsError('ELOOP', 'cannot open a symlink');
  const acc = flags & O_ACCMODE;
  if (acc === O_ACCMODE) throw new FsError('EINVAL', 'bad access mode');
  if (isDir(row) && acc !== 0) throw new FsError('EISDIR');
  let want = acc === 0 ? MAY_READ : acc === O_WRONLY ? MAY_WRITE : MAY_READ | MAY_WRITE;
  const truncate = (flags & O_TRUNC) !== 0 && typeOf(row.mode) === S_IFREG;
  if (truncate) want |= MAY_WRITE;
  checkAccess(op.cred, row, want);
  if (truncate) {
    const now = ns.clock();
    if (row.size !== 0 && !isRoot(op.cred)) {
      row.mode &= ~S_ISUID;
      if (row.mode & 0o010) row.mode &= ~S_ISGID;
    }
    // As setattr's: the opener's own other handles' unreported writes go too.
    if (row.size !== 0 || writtenByAnyone(ns.store.db, ino)) recordPunch(ns.store.db, ino, 0);
    bumpEpoch(ns.store.db, ino, op.client);
    row.size = 0;
    row.blocks = 0;
    row.mtime = now;
    row.ctime = now;
    ns.store.updateInode(row);
    op.fx.inode(ino);
  }
  const handle = ns.store.insertHandle(ino, op.client, flags);
  if (acc !== 0 && typeOf(row.mode) === S_IFREG) {
    noteWriter(ns.store.db, ino, op.client, truncate);
    bumpDataVersion(ns.store.db, ino);
  }
  return { handle, attr: toAttr(row), layout: ns.layoutOf(row) };
}

/** Closes a handle of the calling client (EBADF if it is not one). */
export function release(ns: NsCore, op: OpContext, handle: number): void {
  const h = ns.store.getHandle(handle);
  if (!h || h.client !== op.client) throw new FsError('EBADF', `no handle ${handle}`);
  ns.closeHandle(handle, op.fx);
}

/** After a write ending at `end`: size = max(size, end), mtime = ctime = now. */
export function extendSize(ns: NsCore, op: OpContext, ino: number, end: number): Attr {
  const row = ns.inode(ino);
  if (isDir(row)) throw new FsError('EISDIR');
  if (typeOf(row.mode) !== S_IFREG) throw new FsError('EINVAL', 'not a regular file');
  checkFileSize(ns.layoutOf(row), end);
  const now = ns.clock();
  if (end > row.size) {
    ns.projects.checkGrowth(op.client, row, end);
    row.size = end;
    row.blocks = blocksFor(end);
  }
  row.mtime = now;
  row.ctime = now;
  ns.store.updateInode(row);
  op.fx.inode(ino, true);
  return toAttr(row);
}

/** O_APPEND: size grows by `length` in one step, so the range [old size, new size) is the caller's alone. */
export function reserveAppend(ns: NsCore, op: OpContext, ino: number, length: number): Attr {
  const row = ns.inode(ino);
  return extendSize(ns, op, ino, row.size + length);
}
