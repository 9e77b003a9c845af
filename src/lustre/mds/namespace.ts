// The MDT's POSIX namespace, transport-free: lookups, creation and removal of names, links, symlinks, readdir.
import { FsError } from '../../lib/errors.ts';
import {
  type Attr,
  type Credentials,
  type DirEntry,
  type Layout,
  PATH_MAX,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFREG,
  S_IFSOCK,
  type SetAttrChanges,
  targetByteLength,
} from '../types.ts';
import { setattr } from './attrs.ts';
import { openInode } from './handles.ts';
import { isDir, LINK_MAX, MAX_INODES, NsCore, type OpContext, toAttr, typeOf } from './inodes.ts';
import { checkAccess, checkName, checkSticky, isDot, isRoot, MAY_EXEC, MAY_READ, MAY_WRITE } from './perm.ts';
import { withPlacement } from './placement.ts';
import { rename } from './rename.ts';
import type { InodeRow } from './store.ts';

export interface CreateResult {
  attr: Attr;
  layout: Layout;
  handle: number | null;
  created: boolean;
}

/** Largest number of entries one readdir call returns. */
export const READDIR_MAX = 4096;

/**
 * POSIX operations on one MDT's namespace. Every method runs synchronously against the store and
 * must be called inside a transaction (GroupCommit.apply): a method that throws FsError may
 * have written part of its changes before noticing, and relies on the rollback. Permission checks
 * use the caller's Credentials; errors are the errno the application should see.
 */
export class Namespace extends NsCore {
  lookup(cred: Credentials, parent: number, name: string): Attr {
    checkName(name);
    const dir = this.dir(parent);
    checkAccess(cred, dir, MAY_EXEC);
    if (name === '.') return toAttr(dir);
    if (name === '..') return toAttr(this.inode(dir.parent ?? dir.ino));
    const d = this.store.lookup(parent, name);
    if (!d) throw new FsError('ENOENT');
    return toAttr(this.inode(d.ino));
  }

  getattr(ino: number): Attr {
    return toAttr(this.inode(ino));
  }

  getLayout(ino: number): Layout | null {
    return this.layoutOf(this.inode(ino));
  }

  readlink(ino: number): string {
    const row = this.inode(ino);
    if (typeOf(row.mode) !== S_IFLNK || row.target === null) throw new FsError('EINVAL', 'not a symlink');
    return row.target;
  }

  /** The directory `parent` where `op` may add `name`: EEXIST if taken (or "." / ".."). */
  #creatable(op: OpContext, parent: number, name: string): InodeRow {
    checkName(name);
    const dir = this.dir(parent);
    checkAccess(op.cred, dir, MAY_EXEC);
    if (isDot(name) || this.store.lookup(parent, name)) throw new FsError('EEXIST');
    checkAccess(op.cred, dir, MAY_WRITE | MAY_EXEC);
    return dir;
  }

  create(
    op: OpContext,
    parent: number,
    name: string,
    mode: number,
    exclusive: boolean,
    open: boolean,
    flags: number,
  ): CreateResult {
    checkName(name);
    const dir = this.dir(parent);
    checkAccess(op.cred, dir, MAY_EXEC);
    const existing = isDot(name) ? { ino: dir.ino } : this.store.lookup(parent, name);
    if (existing) {
      if (exclusive) throw new FsError('EEXIST');
      const row = this.inode(existing.ino);
      if (isDir(row)) throw new FsError('EISDIR');
      if (typeOf(row.mode) !== S_IFREG) throw new FsError('EEXIST', 'exists and is not a regular file');
      const handle = open ? openInode(this, op, row.ino, flags).handle : null;
      const now = this.inode(row.ino);
      return { attr: toAttr(now), layout: this.layoutOf(now)!, handle, created: false };
    }
    checkAccess(op.cred, dir, MAY_WRITE | MAY_EXEC);
    const layout = this.#newLayout(op, parent);
    const row = this.#createNode(op, dir, name, S_IFREG | (mode & 0o7777), 0, layout);
    const handle = open ? this.store.insertHandle(row.ino, op.client, flags) : null;
    return { attr: toAttr(row), layout, handle, created: true };
  }

  mknod(op: OpContext, parent: number, name: string, mode: number, rdev: number): Attr {
    const type = typeOf(mode) === 0 ? S_IFREG : typeOf(mode);
    if (type === S_IFDIR) throw new FsError('EPERM', 'mknod cannot make directories');
    if (![S_IFREG, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK].includes(type)) throw new FsError('EINVAL');
    const dir = this.#creatable(op, parent, name);
    if ((type === S_IFCHR || type === S_IFBLK) && !isRoot(op.cred)) throw new FsError('EPERM');
    const layout = type === S_IFREG ? this.#newLayout(op, parent) : null;
    const devRdev = type === S_IFCHR || type === S_IFBLK ? rdev : 0;
    return toAttr(this.#createNode(op, dir, name, type | (mode & 0o7777), devRdev, layout));
  }

  mkdir(op: OpContext, parent: number, name: string, mode: number): Attr {
    const dir = this.#creatable(op, parent, name);
    return toAttr(this.createInode(op, dir, name, { mode: S_IFDIR | (mode & 0o7777), rdev: 0 }));
  }

  symlink(op: OpContext, parent: number, name: string, target: string): Attr {
    if (target.length === 0) throw new FsError('ENOENT', 'empty symlink target');
    const size = targetByteLength(target);
    if (size === 'invalid') throw new FsError('EINVAL', 'a symlink target holds NUL or is badly encoded');
    if (size >= PATH_MAX) throw new FsError('ENAMETOOLONG');
    const dir = this.#creatable(op, parent, name);
    return toAttr(
      this.createInode(op, dir, name, { mode: S_IFLNK | 0o777, rdev: 0, target, size, blocks: 0 }),
    );
  }

  link(op: OpContext, ino: number, newParent: number, newName: string): Attr {
    const row = this.inode(ino);
    if (isDir(row)) throw new FsError('EPERM', 'hard links to directories are not allowed');
    const dir = this.#creatable(op, newParent, newName);
    if (row.nlink === 0) throw new FsError('ENOENT', 'the inode was unlinked');
    if (row.nlink >= LINK_MAX) throw new FsError('EMLINK');
    this.projects.checkMove(row, dir);
    row.nlink++;
    row.ctime = this.clock();
    this.store.updateInode(row);
    this.store.insertDentry(dir.ino, newName, ino, typeOf(row.mode));
    this.store.adjustDir(dir.ino, 0, row.ctime);
    op.fx.entry(dir.ino, newName);
    op.fx.inode(dir.ino);
    op.fx.inode(ino);
    return toAttr(row);
  }

  unlink(op: OpContext, parent: number, name: string): void {
    checkName(name);
    if (isDot(name)) throw new FsError('EISDIR');
    const { dir, row } = this.#removable(op, parent, name);
    if (isDir(row)) throw new FsError('EISDIR');
    this.#removeEntry(op, dir, name, row);
  }

  rmdir(op: OpContext, parent: number, name: string): void {
    checkName(name);
    if (name === '.') throw new FsError('EINVAL');
    if (name === '..') throw new FsError('ENOTEMPTY');
    const { dir, row } = this.#removable(op, parent, name);
    if (!isDir(row)) throw new FsError('ENOTDIR');
    if (this.store.hasChildren(row.ino)) throw new FsError('ENOTEMPTY');
    this.#removeEntry(op, dir, name, row);
  }

  rename(
    op: OpContext,
    parent: number,
    name: string,
    newParent: number,
    newName: string,
    flags: number,
  ): void {
    rename(this, op, { parent, name, newParent, newName, flags });
  }

  setattr(op: OpContext, ino: number, changes: SetAttrChanges): Attr {
    return setattr(this, op, ino, changes);
  }

  /**
   * Up to `limit` entries after `cookie`: "." (cookie 1), ".." (cookie 2), then the names in
   * creation order (cookie = entry id + 2). Cookies never repeat, so paging is stable while
   * entries come and go; a renamed entry gets a new cookie.
   */
  readdir(cred: Credentials, ino: number, cookie: number, limit: number, plus: boolean): DirEntry[] {
    const dir = this.inode(ino);
    if (!isDir(dir)) throw new FsError('ENOTDIR');
    checkAccess(cred, dir, MAY_READ);
    if (dir.nlink === 0) return [];
    const max = Math.min(Math.max(limit, 1), READDIR_MAX);
    const out: DirEntry[] = [];
    const add = (name: string, row: InodeRow, c: number) =>
      out.push({
        name,
        ino: row.ino,
        type: typeOf(row.mode),
        cookie: c,
        ...(plus ? { attr: toAttr(row) } : {}),
      });
    if (cookie < 1) add('.', dir, 1);
    if (cookie < 2 && out.length < max) add('..', this.inode(dir.parent ?? dir.ino), 2);
    if (out.length >= max) return out;
    for (const d of this.store.list(ino, Math.max(cookie - 2, 0), max - out.length)) {
      if (plus) add(d.name, this.inode(d.ino), d.cookie + 2);
      else out.push({ name: d.name, ino: d.ino, type: d.type, cookie: d.cookie + 2 });
    }
    return out;
  }

  statfs(): { files: number; ffree: number } {
    return { files: MAX_INODES, ffree: MAX_INODES - this.store.inodeCount() };
  }

  #newLayout(op: OpContext, parent: number): Layout {
    const policy = withPlacement(this.effectivePolicy(parent), this.defaultPolicy);
    return this.layouts.allocate(policy, op.host, this.osts());
  }

  #createNode(
    op: OpContext,
    dir: InodeRow,
    name: string,
    mode: number,
    rdev: number,
    layout: Layout | null,
  ): InodeRow {
    return this.createInode(op, dir, name, { mode, rdev, layout: layout ? JSON.stringify(layout) : null });
  }

  #removable(op: OpContext, parent: number, name: string): { dir: InodeRow; row: InodeRow } {
    const dir = this.dir(parent);
    checkAccess(op.cred, dir, MAY_EXEC);
    const d = this.store.lookup(parent, name);
    if (!d) throw new FsError('ENOENT');
    checkAccess(op.cred, dir, MAY_WRITE | MAY_EXEC);
    const row = this.inode(d.ino);
    checkSticky(op.cred, dir, row);
    return { dir, row };
  }

  #removeEntry(op: OpContext, dir: InodeRow, name: string, row: InodeRow): void {
    this.store.deleteDentry(dir.ino, name);
    this.store.adjustDir(dir.ino, isDir(row) ? -1 : 0, this.clock());
    op.fx.entry(dir.ino, name);
    op.fx.inode(dir.ino);
    this.dropLink(row.ino, op.fx);
  }
}
