// A small in-memory FileSystemClient with POSIX semantics: the one seam fake, mounted by the FUSE adapter's tests and read by the backup tests.
import { FsError } from '../../src/lib/errors.ts';
import {
  type Attr,
  type Credentials,
  type DirEntry,
  type FileHandle,
  type FileLock,
  type FileSystemClient,
  type InvalidateEvent,
  NAME_MAX,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  type SetAttrChanges,
  type StatFs,
  XATTR_CREATE,
  XATTR_REPLACE,
} from '../../src/lustre/types.ts';
import { LockTable } from './memory-locks.ts';
import { isDir, MemoryTree, type Node } from './memory-tree.ts';

const O_ACCMODE = 3;
const O_TRUNC = 0o1000;
const O_APPEND = 0o2000;
const O_EXCL = 0o200;

/**
 * Every call behaves like a local POSIX file system (ENOENT, EEXIST, ENOTEMPTY, rename rules,
 * open-unlinked files, sparse data, xattrs, fcntl and flock locks). It checks no permissions: the
 * FUSE mount uses default_permissions, so the kernel does.
 */
export class MemoryClient implements FileSystemClient {
  private readonly tree = new MemoryTree();
  private readonly handles = new Map<number, FileHandle>();
  private readonly locks = new LockTable();
  private readonly listeners: Array<(e: InvalidateEvent) => void> = [];
  private nextFh = 1;
  /** Read calls by inode, for tests that check what was read (an unchanged file is not read again). */
  readonly reads = new Map<number, number>();

  /** Tells the mounts that another client changed something (what an MDS lease revocation would do). */
  invalidate(event: InvalidateEvent): void {
    for (const l of this.listeners) l(event);
  }

  onInvalidate(listener: (event: InvalidateEvent) => void): void {
    this.listeners.push(listener);
  }

  async lookup(_cred: Credentials, parent: number, name: string): Promise<Attr> {
    if (name === '.') return { ...this.tree.dir(parent).attr };
    if (name === '..') return { ...this.tree.node(this.tree.dir(parent).parent).attr };
    const n = this.tree.child(parent, name);
    if (!n) throw new FsError('ENOENT');
    return { ...n.attr };
  }

  async getattr(ino: number): Promise<Attr> {
    return { ...this.tree.node(ino).attr };
  }

  async setattr(cred: Credentials, ino: number, c: SetAttrChanges): Promise<Attr> {
    const n = this.tree.node(ino);
    if (c.killSetId && !isDir(n)) {
      // Linux's rule for a caller without CAP_FSETID: S_ISUID goes; S_ISGID if group-executable or not its group.
      n.attr.mode &= ~0o4000;
      const inGroup = cred.uid === 0 || cred.gid === n.attr.gid || cred.groups.includes(n.attr.gid);
      if (n.attr.mode & 0o010 || !inGroup) n.attr.mode &= ~0o2000;
    }
    if (c.size !== undefined) {
      if (isDir(n)) throw new FsError('EISDIR');
      if ((n.attr.mode & S_IFMT) !== S_IFREG) throw new FsError('EINVAL');
      this.truncate(n, c.size);
    }
    if (c.mode !== undefined) n.attr.mode = (n.attr.mode & S_IFMT) | (c.mode & 0o7777);
    if (c.uid !== undefined) n.attr.uid = c.uid;
    if (c.gid !== undefined) n.attr.gid = c.gid;
    if (c.atimeMs !== undefined) n.attr.atimeMs = c.atimeMs === 'now' ? Date.now() : c.atimeMs;
    this.tree.touch(n, 'c');
    if (c.mtimeMs !== undefined) n.attr.mtimeMs = c.mtimeMs === 'now' ? n.attr.ctimeMs : c.mtimeMs;
    return { ...n.attr };
  }

  async create(cred: Credentials, parent: number, name: string, mode: number, flags: number) {
    const existing = this.tree.child(parent, name);
    if (existing && flags & O_EXCL) throw new FsError('EEXIST');
    const n = existing ?? this.tree.make(cred, parent, name, S_IFREG | (mode & 0o7777));
    const handle = await this.open(cred, n.attr.ino, flags);
    return { attr: { ...n.attr }, handle };
  }

  async mknod(cred: Credentials, parent: number, name: string, mode: number, rdev: number): Promise<Attr> {
    const n = this.tree.make(cred, parent, name, mode & S_IFMT ? mode : S_IFREG | mode);
    n.attr.rdev = rdev;
    return { ...n.attr };
  }

  async mkdir(cred: Credentials, parent: number, name: string, mode: number): Promise<Attr> {
    return { ...this.tree.make(cred, parent, name, S_IFDIR | (mode & 0o7777)).attr };
  }

  async unlink(_cred: Credentials, parent: number, name: string): Promise<void> {
    const n = this.tree.child(parent, name);
    if (!n) throw new FsError('ENOENT');
    if (isDir(n)) throw new FsError('EISDIR');
    this.tree.removeEntry(parent, name, n);
  }

  async rmdir(_cred: Credentials, parent: number, name: string): Promise<void> {
    if (name === '.') throw new FsError('EINVAL');
    if (name === '..') throw new FsError('ENOTEMPTY');
    const n = this.tree.child(parent, name);
    if (!n) throw new FsError('ENOENT');
    if (!isDir(n)) throw new FsError('ENOTDIR');
    if (n.entries.size > 0) throw new FsError('ENOTEMPTY');
    this.tree.removeEntry(parent, name, n);
  }

  async rename(
    _cred: Credentials,
    parent: number,
    name: string,
    newParent: number,
    newName: string,
    flags: number,
  ): Promise<void> {
    this.tree.rename(parent, name, newParent, newName, flags);
  }

  async link(_cred: Credentials, ino: number, newParent: number, newName: string): Promise<Attr> {
    const n = this.tree.node(ino);
    if (isDir(n)) throw new FsError('EPERM');
    this.tree.addEntry(newParent, newName, n);
    n.attr.nlink++;
    this.tree.touch(n, 'c');
    return { ...n.attr };
  }

  async symlink(cred: Credentials, parent: number, name: string, target: string): Promise<Attr> {
    const n = this.tree.make(cred, parent, name, S_IFLNK | 0o777);
    n.target = target;
    n.attr.size = Buffer.byteLength(target);
    return { ...n.attr };
  }

  async readlink(ino: number): Promise<string> {
    const n = this.tree.node(ino);
    if ((n.attr.mode & S_IFMT) !== S_IFLNK) throw new FsError('EINVAL');
    return n.target;
  }

  async open(_cred: Credentials, ino: number, flags: number): Promise<FileHandle> {
    const n = this.tree.node(ino);
    const writes = (flags & O_ACCMODE) !== 0;
    if (isDir(n) && writes) throw new FsError('EISDIR');
    if (writes && flags & O_TRUNC && (n.attr.mode & S_IFMT) === S_IFREG) {
      this.truncate(n, 0);
      this.tree.touch(n, 'mc');
    }
    n.opens++;
    const handle: FileHandle = { fh: this.nextFh++, ino, flags };
    this.handles.set(handle.fh, handle);
    return handle;
  }

  private truncate(n: Node, size: number): void {
    n.data.truncate(size);
    n.attr.size = size;
    n.attr.blocks = n.data.blocks;
    this.tree.touch(n, 'mc');
  }

  async read(handle: FileHandle, offset: number, length: number): Promise<Buffer> {
    this.reads.set(handle.ino, (this.reads.get(handle.ino) ?? 0) + 1);
    const n = this.tree.node(handle.ino);
    return n.data.read(offset, Math.max(offset, Math.min(n.attr.size, offset + length)));
  }

  async write(handle: FileHandle, offset: number, data: Buffer): Promise<number> {
    const n = this.tree.node(handle.ino);
    const start = handle.flags & O_APPEND ? n.attr.size : offset;
    n.data.write(start, data);
    n.attr.size = Math.max(n.attr.size, start + data.length);
    n.attr.blocks = n.data.blocks;
    this.tree.touch(n, 'mc');
    return data.length;
  }

  async fsync(): Promise<void> {}

  async flush(handle: FileHandle, lockOwner: bigint): Promise<void> {
    this.locks.releaseOwner(handle.ino, lockOwner);
  }

  async release(handle: FileHandle): Promise<void> {
    if (!this.handles.delete(handle.fh)) throw new FsError('EBADF');
    this.locks.releaseFlock(handle.ino, handle.fh);
    const n = this.tree.nodes.get(handle.ino);
    if (!n) return;
    n.opens--;
    this.tree.maybeFree(n);
  }

  async readdir(
    _c: Credentials,
    ino: number,
    cookie: number,
    limit: number,
    plus: boolean,
  ): Promise<DirEntry[]> {
    const dir = this.tree.dir(ino);
    const all: Array<{ name: string; ino: number; cookie: number }> = [
      { name: '.', ino, cookie: 1 },
      { name: '..', ino: dir.parent, cookie: 2 },
      ...[...dir.entries].map(([name, e]) => ({ name, ...e })),
    ];
    const out: DirEntry[] = [];
    for (const e of all) {
      if (e.cookie <= cookie) continue;
      if (out.length >= limit) break;
      const attr = this.tree.node(e.ino).attr;
      out.push({
        name: e.name,
        ino: e.ino,
        type: attr.mode & S_IFMT,
        cookie: e.cookie,
        ...(plus ? { attr: { ...attr } } : {}),
      });
    }
    return out;
  }

  async statfs(): Promise<StatFs> {
    let used = 0;
    for (const n of this.tree.nodes.values()) used += n.data.blocks / 8;
    const blocks = 1 << 26; // 256 GiB of 4 KiB blocks
    const files = 1 << 24;
    return {
      bsize: 4096,
      frsize: 4096,
      blocks,
      bfree: blocks - used,
      bavail: blocks - used,
      files,
      ffree: files - this.tree.nodes.size,
      namelen: NAME_MAX,
    };
  }

  async getxattr(_c: Credentials, ino: number, name: string): Promise<Buffer> {
    const v = this.tree.node(ino).xattrs.get(name);
    if (!v) throw new FsError('ENODATA');
    return Buffer.from(v);
  }

  async setxattr(_c: Credentials, ino: number, name: string, value: Buffer, flags: number): Promise<void> {
    const n = this.tree.node(ino);
    if (flags & XATTR_CREATE && n.xattrs.has(name)) throw new FsError('EEXIST');
    if (flags & XATTR_REPLACE && !n.xattrs.has(name)) throw new FsError('ENODATA');
    n.xattrs.set(name, Buffer.from(value));
    this.tree.touch(n, 'c');
  }

  async listxattr(_c: Credentials, ino: number): Promise<string[]> {
    return [...this.tree.node(ino).xattrs.keys()];
  }

  async removexattr(_c: Credentials, ino: number, name: string): Promise<void> {
    const n = this.tree.node(ino);
    if (!n.xattrs.delete(name)) throw new FsError('ENODATA');
    this.tree.touch(n, 'c');
  }

  async getlk(handle: FileHandle, owner: bigint, lock: FileLock): Promise<FileLock> {
    return this.locks.conflict(handle.ino, owner, lock) ?? { ...lock, type: 'unlock' };
  }

  setlk(
    handle: FileHandle,
    owner: bigint,
    lock: FileLock,
    wait: boolean,
    signal?: AbortSignal,
  ): Promise<void> {
    return this.locks.setlk(handle.ino, owner, lock, wait, signal);
  }

  flock(handle: FileHandle, _o: bigint, type: FileLock['type'], wait: boolean, signal?: AbortSignal) {
    return this.locks.flock(handle.ino, handle.fh, type, wait, signal);
  }

  /** A memory file system outlives its connections: close ends nothing, and a reconnect sees the same tree. */
  async close(): Promise<void> {}

  async fallocate(handle: FileHandle, mode: number, offset: number, length: number): Promise<void> {
    if (mode !== 0) throw new FsError('EOPNOTSUPP');
    const n = this.tree.node(handle.ino);
    if (offset + length > n.attr.size) this.truncate(n, offset + length);
  }
}
