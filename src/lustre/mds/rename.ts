// rename(2) and renameat2's RENAME_NOREPLACE / RENAME_EXCHANGE on the MDT, as one atomic change of the namespace.
import { FsError } from '../../lib/errors.ts';
import { RENAME_EXCHANGE, RENAME_NOREPLACE } from '../types.ts';
import { isDir, type NsCore, type OpContext, typeOf } from './inodes.ts';
import { checkAccess, checkName, checkSticky, isDot, MAY_EXEC, MAY_WRITE } from './perm.ts';
import type { InodeRow } from './store.ts';

export interface RenameArgs {
  parent: number;
  name: string;
  newParent: number;
  newName: string;
  flags: number;
}

/**
 * Moves `parent/name` to `newParent/newName`, replacing a target (file over file, directory over
 * empty directory), or swapping the two with RENAME_EXCHANGE. Errors as Linux: EINVAL for bad
 * flags or moving a directory below itself, EBUSY for "." / "..", EEXIST with RENAME_NOREPLACE,
 * ENOTDIR / EISDIR / ENOTEMPTY for mismatched targets, EPERM in sticky directories, EACCES,
 * EXDEV into a directory that passes on another project ID (as Lustre; mv then copies). When
 * both names are links of the same inode nothing changes.
 */
export function rename(ns: NsCore, op: OpContext, a: RenameArgs): void {
  if ((a.flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) !== 0) throw new FsError('EINVAL', 'unknown flags');
  if (a.flags === (RENAME_NOREPLACE | RENAME_EXCHANGE)) throw new FsError('EINVAL');
  checkName(a.name);
  checkName(a.newName);
  const from = ns.dir(a.parent);
  const to = a.newParent === a.parent ? from : ns.dir(a.newParent);
  checkAccess(op.cred, from, MAY_EXEC);
  checkAccess(op.cred, to, MAY_EXEC);
  if (isDot(a.name)) throw new FsError('EBUSY');
  if (isDot(a.newName)) throw new FsError(a.flags & RENAME_NOREPLACE ? 'EEXIST' : 'EBUSY');
  const src = ns.store.lookup(from.ino, a.name);
  if (!src) throw new FsError('ENOENT');
  const dst = ns.store.lookup(to.ino, a.newName);
  const exchange = (a.flags & RENAME_EXCHANGE) !== 0;
  if (exchange && !dst) throw new FsError('ENOENT');
  if (dst && a.flags & RENAME_NOREPLACE) throw new FsError('EEXIST');
  checkAccess(op.cred, from, MAY_WRITE | MAY_EXEC);
  checkAccess(op.cred, to, MAY_WRITE | MAY_EXEC);
  const s = ns.inode(src.ino);
  const d = dst ? ns.inode(dst.ino) : undefined;
  if (d && d.ino === s.ino) return;
  checkSticky(op.cred, from, s);
  if (d) checkSticky(op.cred, to, d);
  checkMove(ns, op, s, from, to);
  if (exchange) checkMove(ns, op, d!, to, from);
  else if (d) checkReplace(ns, s, d);
  ns.projects.checkMove(s, to);
  if (exchange) ns.projects.checkMove(d!, from);
  if (exchange) swap(ns, op, a, s, d!);
  else move(ns, op, a, s, d);
}

/** Moving directory `s` from `from` into `to`: write access to it, and never below itself. */
function checkMove(ns: NsCore, op: OpContext, s: InodeRow, from: InodeRow, to: InodeRow): void {
  if (!isDir(s) || from.ino === to.ino) return;
  if (ns.isWithin(to.ino, s.ino)) throw new FsError('EINVAL', 'cannot move a directory below itself');
  checkAccess(op.cred, s, MAY_WRITE);
}

function checkReplace(ns: NsCore, s: InodeRow, d: InodeRow): void {
  if (isDir(s)) {
    if (!isDir(d)) throw new FsError('ENOTDIR');
    if (ns.store.hasChildren(d.ino)) throw new FsError('ENOTEMPTY');
  } else if (isDir(d)) {
    throw new FsError('EISDIR');
  }
}

function move(ns: NsCore, op: OpContext, a: RenameArgs, s: InodeRow, d: InodeRow | undefined): void {
  const now = ns.clock();
  if (d) {
    ns.store.deleteDentry(a.newParent, a.newName);
    ns.store.adjustDir(a.newParent, isDir(d) ? -1 : 0, now);
    ns.dropLink(d.ino, op.fx);
  }
  ns.store.deleteDentry(a.parent, a.name);
  ns.store.insertDentry(a.newParent, a.newName, s.ino, typeOf(s.mode));
  const movedDir = isDir(s) && a.parent !== a.newParent;
  ns.store.adjustDir(a.parent, movedDir ? -1 : 0, now);
  ns.store.adjustDir(a.newParent, movedDir ? 1 : 0, now);
  const moved = ns.inode(s.ino);
  moved.ctime = now;
  if (movedDir) moved.parent = a.newParent;
  ns.store.updateInode(moved);
  notify(op, a, s.ino, d?.ino);
}

function swap(ns: NsCore, op: OpContext, a: RenameArgs, s: InodeRow, d: InodeRow): void {
  const now = ns.clock();
  ns.store.retarget(a.parent, a.name, d.ino, typeOf(d.mode));
  ns.store.retarget(a.newParent, a.newName, s.ino, typeOf(s.mode));
  const across = a.parent !== a.newParent;
  const delta = across ? (isDir(d) ? 1 : 0) - (isDir(s) ? 1 : 0) : 0;
  ns.store.adjustDir(a.parent, delta, now);
  if (across) ns.store.adjustDir(a.newParent, -delta, now);
  for (const [row, parent] of [
    [s, a.newParent],
    [d, a.parent],
  ] as const) {
    const cur = ns.inode(row.ino);
    cur.ctime = now;
    if (isDir(cur)) cur.parent = parent;
    ns.store.updateInode(cur);
  }
  notify(op, a, s.ino, d.ino);
}

function notify(op: OpContext, a: RenameArgs, src: number, dst: number | undefined): void {
  op.fx.entry(a.parent, a.name);
  op.fx.entry(a.newParent, a.newName);
  op.fx.inode(a.parent);
  if (a.newParent !== a.parent) op.fx.inode(a.newParent);
  op.fx.inode(src);
  if (dst !== undefined) op.fx.inode(dst);
}
