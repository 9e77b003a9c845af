// POSIX access checks for the MDS: permission bits with supplementary groups, root bypass, sticky directories, name rules.
import { FsError } from '../../lib/errors.ts';
import { byteNameLength, type Credentials, isByteName, NAME_MAX, S_IFDIR, S_IFMT } from '../types.ts';

export const MAY_READ = 4;
export const MAY_WRITE = 2;
export const MAY_EXEC = 1;

export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;

interface Owned {
  mode: number;
  uid: number;
  gid: number;
}

export function isRoot(cred: Credentials): boolean {
  return cred.uid === 0;
}

export function inGroup(cred: Credentials, gid: number): boolean {
  return cred.gid === gid || cred.groups.includes(gid);
}

/**
 * Whether `cred` may access `inode` for `want` (MAY_* bits). The owner class alone applies to the
 * owner, the group class to members, else other. Root passes, except that executing a
 * non-directory needs at least one x bit.
 */
export function permits(cred: Credentials, inode: Owned, want: number): boolean {
  if (isRoot(cred)) {
    if (want & MAY_EXEC && (inode.mode & S_IFMT) !== S_IFDIR) return (inode.mode & 0o111) !== 0;
    return true;
  }
  let bits: number;
  if (cred.uid === inode.uid) bits = (inode.mode >> 6) & 7;
  else if (inGroup(cred, inode.gid)) bits = (inode.mode >> 3) & 7;
  else bits = inode.mode & 7;
  return (bits & want) === want;
}

/** Throws EACCES unless `permits`. */
export function checkAccess(cred: Credentials, inode: Owned, want: number): void {
  if (!permits(cred, inode, want)) throw new FsError('EACCES');
}

/** In a sticky directory only the entry's owner, the directory's owner or root may remove or rename it. */
export function checkSticky(cred: Credentials, dir: Owned, inode: Owned): void {
  if ((dir.mode & S_ISVTX) === 0 || isRoot(cred)) return;
  if (cred.uid === inode.uid || cred.uid === dir.uid) return;
  throw new FsError('EPERM', 'sticky directory');
}

export function isOwnerOrRoot(cred: Credentials, inode: Owned): boolean {
  return isRoot(cred) || cred.uid === inode.uid;
}

/**
 * Validates one directory-entry name: EINVAL for an empty name, a "/" or NUL in it, or a string
 * that is not well-formed Unicode; ENAMETOOLONG past NAME_MAX bytes. "." and ".." pass: each
 * operation decides what they mean for it.
 */
export function checkName(name: string): void {
  if (name.length === 0) throw new FsError('EINVAL', 'empty name');
  if (isByteName(name)) {
    // A name that is not UTF-8, in its "/"-and-hex form.
    const length = byteNameLength(name);
    if (length === 'invalid') throw new FsError('EINVAL', 'bad byte-name form');
    if (length > NAME_MAX) throw new FsError('ENAMETOOLONG');
    return;
  }
  if (name.includes('/') || name.includes('\0')) throw new FsError('EINVAL', `bad character in name`);
  if (!name.isWellFormed()) throw new FsError('EINVAL', 'name is not well-formed Unicode');
  if (Buffer.byteLength(name) > NAME_MAX) throw new FsError('ENAMETOOLONG');
}

export function isDot(name: string): boolean {
  return name === '.' || name === '..';
}
