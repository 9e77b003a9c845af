// Extended attributes on the MDT: namespaces (user, trusted, security), flags, size limits and permissions.
import { FsError } from '../../lib/errors.ts';
import { type Credentials, S_IFREG, XATTR_CREATE, XATTR_REPLACE } from '../types.ts';
import { isDir, type NsCore, type OpContext, typeOf } from './inodes.ts';
import { checkAccess, isOwnerOrRoot, isRoot, MAY_READ, MAY_WRITE, S_ISVTX } from './perm.ts';
import type { InodeRow } from './store.ts';

export const XATTR_NAME_MAX = 255;
export const XATTR_SIZE_MAX = 64 * 1024;

type Space = 'user' | 'trusted' | 'security';

/** The namespace of a name: ERANGE for an empty or too long name, EOPNOTSUPP for system.* and unknown prefixes. */
function spaceOf(name: string): Space {
  if (name.length === 0 || Buffer.byteLength(name) > XATTR_NAME_MAX)
    throw new FsError('ERANGE', 'bad xattr name length');
  for (const s of ['user', 'trusted', 'security'] as const) {
    if (name.startsWith(`${s}.`) && name.length > s.length + 1) return s;
  }
  throw new FsError('EOPNOTSUPP', `unsupported xattr namespace in "${name}"`);
}

function checkRead(cred: Credentials, row: InodeRow, space: Space): boolean {
  if (space === 'trusted') return isRoot(cred);
  if (space === 'user') {
    if (!isDir(row) && typeOf(row.mode) !== S_IFREG) return false;
    checkAccess(cred, row, MAY_READ);
  }
  return true;
}

function checkWrite(cred: Credentials, row: InodeRow, space: Space): void {
  if (space === 'trusted' && !isRoot(cred)) throw new FsError('EPERM');
  if (space === 'security' && !isOwnerOrRoot(cred, row)) throw new FsError('EPERM');
  if (space === 'user') {
    if (!isDir(row) && typeOf(row.mode) !== S_IFREG) throw new FsError('EPERM');
    if (isDir(row) && row.mode & S_ISVTX && !isOwnerOrRoot(cred, row)) throw new FsError('EPERM');
    checkAccess(cred, row, MAY_WRITE);
  }
}

/** The value, or ENODATA (also for attributes the caller may not see). */
export function getxattr(ns: NsCore, cred: Credentials, ino: number, name: string): Buffer {
  const row = ns.inode(ino);
  if (!checkRead(cred, row, spaceOf(name))) throw new FsError('ENODATA');
  const v = ns.store.getXattr(ino, name);
  if (!v) throw new FsError('ENODATA');
  return v;
}

/** XATTR_CREATE: EEXIST if present; XATTR_REPLACE: ENODATA if absent; E2BIG past 64 KiB. */
export function setxattr(
  ns: NsCore,
  op: OpContext,
  ino: number,
  name: string,
  value: Buffer,
  flags: number,
): void {
  if ((flags & ~(XATTR_CREATE | XATTR_REPLACE)) !== 0 || flags === (XATTR_CREATE | XATTR_REPLACE)) {
    throw new FsError('EINVAL', 'bad xattr flags');
  }
  const space = spaceOf(name);
  if (value.length > XATTR_SIZE_MAX) throw new FsError('E2BIG', 'xattr value larger than 64 KiB');
  const row = ns.inode(ino);
  checkWrite(op.cred, row, space);
  const present = ns.store.getXattr(ino, name) !== undefined;
  if (flags & XATTR_CREATE && present) throw new FsError('EEXIST');
  if (flags & XATTR_REPLACE && !present) throw new FsError('ENODATA');
  ns.store.setXattr(ino, name, value);
  touch(ns, op, row);
}

export function removexattr(ns: NsCore, op: OpContext, ino: number, name: string): void {
  const space = spaceOf(name);
  const row = ns.inode(ino);
  checkWrite(op.cred, row, space);
  if (!ns.store.deleteXattr(ino, name)) throw new FsError('ENODATA');
  touch(ns, op, row);
}

/** Names the caller may see (trusted.* only for root). */
export function listxattr(ns: NsCore, cred: Credentials, ino: number): string[] {
  ns.inode(ino);
  return ns.store.listXattrs(ino).filter((n) => !n.startsWith('trusted.') || isRoot(cred));
}

function touch(ns: NsCore, op: OpContext, row: InodeRow): void {
  row.ctime = ns.clock();
  ns.store.updateInode(row);
  op.fx.inode(row.ino);
}
