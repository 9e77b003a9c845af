// A small in-memory FileSystemClient with POSIX semantics: the seam fake the FUSE adapter's tests mount.
import { FsError } from '../../lib/errors.ts';
import {
  type Attr,
  type Credentials,
  type DirEntry,
  type FileHandle,
  type FileLock,
  type FileSystemClient,
  type InvalidateEvent,
  NAME_MAX,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  ROOT_INO,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  type SetAttrChanges,
  type StatFs,
  XATTR_CREATE,
  XATTR_REPLACE,
} from '../types.ts';
import { LockTable } from './memory-locks.ts';

const CHUNK = 1 << 20;
const O_ACCMODE = 3;
const O_TRUNC = 0o1000;
const O_APPEND = 0o2000;
const O_EXCL = 0o200;
const S_ISGID = 0o2000;

interface Node {
  attr: Attr;
  chunks: Map<number, Buffer>;
  entries: Map<string, { ino: number; cookie: number }>;
  parent: number;
  target: string;
  xattrs: Map<string, Buffer>;
  opens: number;
}

const isDir = (n: Node) => (n.attr.mode & S_IFMT) === S_IFDIR;

/**
 * Every call behaves like a local POSIX file system (ENOENT, EEXIST, ENOTEMPTY, rename rules,
 * open-unlinked files, sparse data, xattrs, fcntl and flock locks). It checks no permissions: the
 * FUSE mount uses default_permissions, so the kernel does. Directory cookies: 1 is ".", 2 is "..",
 * then a sequence number per entry, so listing stays stable while entries come and go.
 */
export class MemoryClient implements FileSystemClient {
  private readonly nodes = new Map<number, Node>();
  private readonly handles = new Map<number, FileHandle>();
  private readonly locks = new LockTable();
  private readonly listeners: Array<(e: InvalidateEvent) => void> = [];
  private nextIno = ROOT_INO + 1;
  private nextFh = 1;
  private nextCookie = 3;

  constructor() {
    this.nodes.set(
      ROOT_INO,
      this.newNode(ROOT_INO, S_IFDIR | 0o755, { uid: 0, gid: 0, groups: [] }, ROOT_INO),
    );
    this.node(ROOT_INO).attr.nlink = 2;
  }

  /** Tells the mounts that another client changed something (what an MDS lease revocation would do). */
  invalidate(event: InvalidateEvent): void {
    for (const l of this.listeners) l(event);
  }

  onInvalidate(listener: (event: InvalidateEvent) => void): void {
    this.listeners.push(listener);
  }

  private newNode(ino: number, mode: number, cred: Credentials, parent: number): Node {
    const now = Date.now();
    const p = this.nodes.get(parent);
    const inheritGid = p !== undefined && (p.attr.mode & S_ISGID) !== 0;
    if (inheritGid && (mode & S_IFMT) === S_IFDIR) mode |= S_ISGID;
    const attr: Attr = {
      ino,
      mode,
      nlink: 1,
      uid: cred.uid,
      gid: inheritGid ? p.attr.gid : cred.gid,
      rdev: 0,
      size: 0,
      blocks: 0,
      atimeMs: now,
      mtimeMs: now,
      ctimeMs: now,
      generation: 0,
    };
    return { attr, chunks: new Map(), entries: new Map(), parent, target: '', xattrs: new Map(), opens: 0 };
  }

  private node(ino: number): Node {
    const n = this.nodes.get(ino);
    if (!n) throw new FsError('ENOENT', `inode ${ino}`);
    return n;
  }

  private dir(ino: number): Node {
    const n = this.node(ino);
    if (!isDir(n)) throw new FsError('ENOTDIR');
    return n;
  }

  private child(parent: number, name: string): Node | undefined {
    const e = this.dir(parent).entries.get(name);
    return e && this.node(e.ino);
  }

  private touch(n: Node, what: 'c' | 'mc'): void {
    const now = Date.now();
    n.attr.ctimeMs = now;
    if (what === 'mc') n.attr.mtimeMs = now;
  }

  private addEntry(parent: number, name: string, n: Node): void {
    if (Buffer.byteLength(name) > NAME_MAX) throw new FsError('ENAMETOOLONG');
    const dir = this.dir(parent);
    if (name === '.' || name === '..' || dir.entries.has(name)) throw new FsError('EEXIST');
    dir.entries.set(name, { ino: n.attr.ino, cookie: this.nextCookie++ });
    if (isDir(n)) {
      dir.attr.nlink++;
      n.parent = parent;
    }
    this.touch(dir, 'mc');
  }

  private removeEntry(parent: number, name: string, n: Node): void {
    const dir = this.dir(parent);
    dir.entries.delete(name);
    if (isDir(n)) {
      dir.attr.nlink--;
      n.attr.nlink = 0;
    } else n.attr.nlink--;
    this.touch(dir, 'mc');
    this.touch(n, 'c');
    this.maybeFree(n);
  }

  private maybeFree(n: Node): void {
    if (n.attr.nlink === 0 && n.opens === 0) this.nodes.delete(n.attr.ino);
  }

  private make(cred: Credentials, parent: number, name: string, mode: number): Node {
    const n = this.newNode(this.nextIno++, mode, cred, parent);
    if (isDir(n)) n.attr.nlink = 2;
    this.addEntry(parent, name, n);
    this.nodes.set(n.attr.ino, n);
    return n;
  }

  async lookup(_cred: Credentials, parent: number, name: string): Promise<Attr> {
    if (name === '.') return { ...this.dir(parent).attr };
    if (name === '..') return { ...this.node(this.dir(parent).parent).attr };
    const n = this.child(parent, name);
    if (!n) throw new FsError('ENOENT');
    return { ...n.attr };
  }

  async getattr(ino: number): Promise<Attr> {
    return { ...this.node(ino).attr };
  }

  async setattr(_cred: Credentials, ino: number, c: SetAttrChanges): Promise<Attr> {
    const n = this.node(ino);
    if (c.size !== undefined) {
      if (isDir(n)) throw new FsError('EISDIR');
      if ((n.attr.mode & S_IFMT) !== S_IFREG) throw new FsError('EINVAL');
      this.truncate(n, c.size);
    }
    if (c.mode !== undefined) n.attr.mode = (n.attr.mode & S_IFMT) | (c.mode & 0o7777);
    if (c.uid !== undefined) n.attr.uid = c.uid;
    if (c.gid !== undefined) n.attr.gid = c.gid;
    if (c.atimeMs !== undefined) n.attr.atimeMs = c.atimeMs === 'now' ? Date.now() : c.atimeMs;
    if (c.mtimeMs !== undefined) n.attr.mtimeMs = c.mtimeMs === 'now' ? Date.now() : c.mtimeMs;
    n.attr.ctimeMs = Date.now();
    return { ...n.attr };
  }

  async create(cred: Credentials, parent: number, name: string, mode: number, flags: number) {
    const existing = this.child(parent, name);
    if (existing && flags & O_EXCL) throw new FsError('EEXIST');
    const n = existing ?? this.make(cred, parent, name, S_IFREG | (mode & 0o7777));
    const handle = await this.open(cred, n.attr.ino, flags);
    return { attr: { ...n.attr }, handle };
  }

  async mknod(cred: Credentials, parent: number, name: string, mode: number, rdev: number): Promise<Attr> {
    const n = this.make(cred, parent, name, mode & S_IFMT ? mode : S_IFREG | mode);
    n.attr.rdev = rdev;
    return { ...n.attr };
  }

  async mkdir(cred: Credentials, parent: number, name: string, mode: number): Promise<Attr> {
    return { ...this.make(cred, parent, name, S_IFDIR | (mode & 0o7777)).attr };
  }

  async unlink(_cred: Credentials, parent: number, name: string): Promise<void> {
    const n = this.child(parent, name);
    if (!n) throw new FsError('ENOENT');
    if (isDir(n)) throw new FsError('EISDIR');
    this.removeEntry(parent, name, n);
  }

  async rmdir(_cred: Credentials, parent: number, name: string): Promise<void> {
    if (name === '.') throw new FsError('EINVAL');
    if (name === '..') throw new FsError('ENOTEMPTY');
    const n = this.child(parent, name);
    if (!n) throw new FsError('ENOENT');
    if (!isDir(n)) throw new FsError('ENOTDIR');
    if (n.entries.size > 0) throw new FsError('ENOTEMPTY');
    this.removeEntry(parent, name, n);
  }

  /** True when directory `ino` is `ancestor` or lies below it. */
  private isWithin(ino: number, ancestor: number): boolean {
    for (let cur = ino; ; cur = this.node(cur).parent) {
      if (cur === ancestor) return true;
      if (cur === ROOT_INO) return false;
    }
  }

  async rename(
    _cred: Credentials,
    parent: number,
    name: string,
    newParent: number,
    newName: string,
    flags: number,
  ): Promise<void> {
    const src = this.child(parent, name);
    if (!src) throw new FsError('ENOENT');
    const dst = this.child(newParent, newName);
    if (isDir(src) && this.isWithin(newParent, src.attr.ino)) throw new FsError('EINVAL');
    if (flags & RENAME_EXCHANGE) {
      if (!dst) throw new FsError('ENOENT');
      if (isDir(dst) && this.isWithin(parent, dst.attr.ino)) throw new FsError('EINVAL');
      const pd = this.dir(parent);
      const nd = this.dir(newParent);
      pd.entries.get(name)!.ino = dst.attr.ino;
      nd.entries.get(newName)!.ino = src.attr.ino;
      if (isDir(src)) {
        pd.attr.nlink--;
        nd.attr.nlink++;
        src.parent = newParent;
      }
      if (isDir(dst)) {
        nd.attr.nlink--;
        pd.attr.nlink++;
        dst.parent = parent;
      }
      for (const n of [pd, nd, src, dst]) this.touch(n, n === pd || n === nd ? 'mc' : 'c');
      return;
    }
    if (dst) {
      if (flags & RENAME_NOREPLACE) throw new FsError('EEXIST');
      if (dst === src) return;
      if (isDir(src) && !isDir(dst)) throw new FsError('ENOTDIR');
      if (!isDir(src) && isDir(dst)) throw new FsError('EISDIR');
      if (isDir(dst) && dst.entries.size > 0) throw new FsError('ENOTEMPTY');
      this.removeEntry(newParent, newName, dst);
    }
    this.dir(parent).entries.delete(name);
    if (isDir(src)) this.dir(parent).attr.nlink--;
    this.touch(this.dir(parent), 'mc');
    this.addEntry(newParent, newName, src);
    this.touch(src, 'c');
  }

  async link(_cred: Credentials, ino: number, newParent: number, newName: string): Promise<Attr> {
    const n = this.node(ino);
    if (isDir(n)) throw new FsError('EPERM');
    this.addEntry(newParent, newName, n);
    n.attr.nlink++;
    this.touch(n, 'c');
    return { ...n.attr };
  }

  async symlink(cred: Credentials, parent: number, name: string, target: string): Promise<Attr> {
    const n = this.make(cred, parent, name, S_IFLNK | 0o777);
    n.target = target;
    n.attr.size = Buffer.byteLength(target);
    return { ...n.attr };
  }

  async readlink(ino: number): Promise<string> {
    const n = this.node(ino);
    if ((n.attr.mode & S_IFMT) !== S_IFLNK) throw new FsError('EINVAL');
    return n.target;
  }

  async open(_cred: Credentials, ino: number, flags: number): Promise<FileHandle> {
    const n = this.node(ino);
    const writes = (flags & O_ACCMODE) !== 0;
    if (isDir(n) && writes) throw new FsError('EISDIR');
    if (writes && flags & O_TRUNC && (n.attr.mode & S_IFMT) === S_IFREG) {
      this.truncate(n, 0);
      this.touch(n, 'mc');
    }
    n.opens++;
    const handle: FileHandle = { fh: this.nextFh++, ino, flags };
    this.handles.set(handle.fh, handle);
    return handle;
  }

  private truncate(n: Node, size: number): void {
    for (const idx of n.chunks.keys()) if (idx * CHUNK >= size) n.chunks.delete(idx);
    const last = n.chunks.get(Math.floor(size / CHUNK));
    if (last) last.fill(0, size % CHUNK);
    n.attr.size = size;
    n.attr.blocks = n.chunks.size * (CHUNK / 512);
    this.touch(n, 'mc');
  }

  async read(handle: FileHandle, offset: number, length: number): Promise<Buffer> {
    const n = this.node(handle.ino);
    const end = Math.min(n.attr.size, offset + length);
    const first = Math.floor(offset / CHUNK);
    const chunk = n.chunks.get(first);
    if (chunk && end > offset && Math.floor((end - 1) / CHUNK) === first) {
      return chunk.subarray(offset - first * CHUNK, end - first * CHUNK); // a view: the caller sends it at once
    }
    const out = Buffer.allocUnsafe(Math.max(0, end - offset));
    for (let pos = offset; pos < end; ) {
      const idx = Math.floor(pos / CHUNK);
      const within = pos - idx * CHUNK;
      const take = Math.min(CHUNK - within, end - pos);
      const chunk = n.chunks.get(idx);
      if (chunk) chunk.copy(out, pos - offset, within, within + take);
      else out.fill(0, pos - offset, pos - offset + take);
      pos += take;
    }
    return out;
  }

  async write(handle: FileHandle, offset: number, data: Buffer): Promise<number> {
    const n = this.node(handle.ino);
    const start = handle.flags & O_APPEND ? n.attr.size : offset;
    for (let done = 0; done < data.length; ) {
      const pos = start + done;
      const idx = Math.floor(pos / CHUNK);
      let chunk = n.chunks.get(idx);
      if (!chunk) {
        const whole = pos % CHUNK === 0 && data.length - done >= CHUNK;
        chunk = whole ? Buffer.allocUnsafe(CHUNK) : Buffer.alloc(CHUNK);
        n.chunks.set(idx, chunk);
      }
      done += data.copy(
        chunk,
        pos - idx * CHUNK,
        done,
        Math.min(data.length, done + CHUNK - (pos - idx * CHUNK)),
      );
    }
    n.attr.size = Math.max(n.attr.size, start + data.length);
    n.attr.blocks = n.chunks.size * (CHUNK / 512);
    this.touch(n, 'mc');
    return data.length;
  }

  async fsync(): Promise<void> {}

  async flush(handle: FileHandle, lockOwner: bigint): Promise<void> {
    this.locks.releaseOwner(handle.ino, lockOwner);
  }

  async release(handle: FileHandle): Promise<void> {
    if (!this.handles.delete(handle.fh)) throw new FsError('EBADF');
    this.locks.releaseFlock(handle.ino, handle.fh);
    const n = this.nodes.get(handle.ino);
    if (!n) return;
    n.opens--;
    this.maybeFree(n);
  }

  async readdir(
    _c: Credentials,
    ino: number,
    cookie: number,
    limit: number,
    plus: boolean,
  ): Promise<DirEntry[]> {
    const dir = this.dir(ino);
    const all: Array<{ name: string; ino: number; cookie: number }> = [
      { name: '.', ino, cookie: 1 },
      { name: '..', ino: dir.parent, cookie: 2 },
      ...[...dir.entries].map(([name, e]) => ({ name, ...e })),
    ];
    const out: DirEntry[] = [];
    for (const e of all) {
      if (e.cookie <= cookie) continue;
      if (out.length >= limit) break;
      const attr = this.node(e.ino).attr;
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
    for (const n of this.nodes.values()) used += n.chunks.size * (CHUNK / 4096);
    const blocks = 1 << 26; // 256 GiB of 4 KiB blocks
    const files = 1 << 24;
    return {
      bsize: 4096,
      frsize: 4096,
      blocks,
      bfree: blocks - used,
      bavail: blocks - used,
      files,
      ffree: files - this.nodes.size,
      namelen: NAME_MAX,
    };
  }

  async getxattr(_c: Credentials, ino: number, name: string): Promise<Buffer> {
    const v = this.node(ino).xattrs.get(name);
    if (!v) throw new FsError('ENODATA');
    return Buffer.from(v);
  }

  async setxattr(_c: Credentials, ino: number, name: string, value: Buffer, flags: number): Promise<void> {
    const n = this.node(ino);
    if (flags & XATTR_CREATE && n.xattrs.has(name)) throw new FsError('EEXIST');
    if (flags & XATTR_REPLACE && !n.xattrs.has(name)) throw new FsError('ENODATA');
    n.xattrs.set(name, Buffer.from(value));
    this.touch(n, 'c');
  }

  async listxattr(_c: Credentials, ino: number): Promise<string[]> {
    return [...this.node(ino).xattrs.keys()];
  }

  async removexattr(_c: Credentials, ino: number, name: string): Promise<void> {
    const n = this.node(ino);
    if (!n.xattrs.delete(name)) throw new FsError('ENODATA');
    this.touch(n, 'c');
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

  async fallocate(handle: FileHandle, mode: number, offset: number, length: number): Promise<void> {
    if (mode !== 0) throw new FsError('EOPNOTSUPP');
    const n = this.node(handle.ino);
    if (offset + length > n.attr.size) this.truncate(n, offset + length);
  }
}
