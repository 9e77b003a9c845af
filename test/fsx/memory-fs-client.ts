// A FileSystemClient held in memory for tests of backup and restore: a POSIX-ish tree without permissions, locks or striping.
import { constants as fsConstants } from 'node:fs';
import { FsError } from '../../src/lib/errors.ts';
import {
  type Attr,
  type Credentials,
  type DirEntry,
  type FileHandle,
  type FileSystemClient,
  ROOT_INO,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  type SetAttrChanges,
  type StatFs,
  type TimeSpec,
} from '../../src/lustre/types.ts';

interface Node {
  attr: Attr;
  children?: Map<string, number>;
  data?: Buffer;
  target?: string;
  xattrs: Map<string, Buffer>;
}

function enosys(): never {
  throw new FsError('ENOSYS');
}

export class MemoryFsClient implements FileSystemClient {
  readonly nodes = new Map<number, Node>();
  #nextIno = ROOT_INO + 1;
  #nextFh = 1;
  /** Counts of calls by method, to check what a backup read. */
  readonly reads = new Map<number, number>();
  closed = false;

  constructor() {
    this.nodes.set(ROOT_INO, {
      attr: this.#attr(ROOT_INO, S_IFDIR | 0o755, 0, 0),
      children: new Map(),
      xattrs: new Map(),
    });
  }

  #attr(ino: number, mode: number, uid: number, gid: number): Attr {
    const now = Date.now();
    return {
      ino,
      mode,
      nlink: 1,
      uid,
      gid,
      rdev: 0,
      size: 0,
      blocks: 0,
      atimeMs: now,
      mtimeMs: now,
      ctimeMs: now,
      generation: 0,
    };
  }

  #node(ino: number): Node {
    const n = this.nodes.get(ino);
    if (!n) throw new FsError('ENOENT');
    return n;
  }

  #dir(ino: number): Map<string, number> {
    const n = this.#node(ino);
    if (!n.children) throw new FsError('ENOTDIR');
    return n.children;
  }

  /** Times move forward on every change, even within one millisecond. */
  #touch(n: Node): void {
    const now = Math.max(Date.now(), n.attr.mtimeMs + 1, n.attr.ctimeMs + 1);
    n.attr.mtimeMs = now;
    n.attr.ctimeMs = now;
  }

  #add(cred: Credentials, parent: number, name: string, mode: number, fill: (n: Node) => void): Attr {
    const dir = this.#dir(parent);
    if (dir.has(name)) throw new FsError('EEXIST');
    const ino = this.#nextIno++;
    const n: Node = { attr: this.#attr(ino, mode, cred.uid, cred.gid), xattrs: new Map() };
    fill(n);
    this.nodes.set(ino, n);
    dir.set(name, ino);
    this.#touch(this.#node(parent));
    return { ...n.attr };
  }

  async lookup(_c: Credentials, parent: number, name: string): Promise<Attr> {
    const ino = this.#dir(parent).get(name);
    if (ino === undefined) throw new FsError('ENOENT');
    return { ...this.#node(ino).attr };
  }
  async getattr(ino: number): Promise<Attr> {
    return { ...this.#node(ino).attr };
  }
  async setattr(_c: Credentials, ino: number, ch: SetAttrChanges): Promise<Attr> {
    const n = this.#node(ino);
    const t = (v: TimeSpec) => (v === 'now' ? Date.now() : v);
    if (ch.mode !== undefined) n.attr.mode = (n.attr.mode & S_IFMT) | (ch.mode & 0o7777);
    if (ch.uid !== undefined) n.attr.uid = ch.uid;
    if (ch.gid !== undefined) n.attr.gid = ch.gid;
    if (ch.size !== undefined) this.#resize(n, ch.size);
    if (ch.atimeMs !== undefined) n.attr.atimeMs = t(ch.atimeMs);
    if (ch.mtimeMs !== undefined) n.attr.mtimeMs = t(ch.mtimeMs);
    n.attr.ctimeMs = Date.now();
    return { ...n.attr };
  }
  #resize(n: Node, size: number): void {
    const data = Buffer.alloc(size);
    n.data?.copy(data, 0, 0, Math.min(size, n.data.length));
    n.data = data;
    n.attr.size = size;
  }
  async create(cred: Credentials, parent: number, name: string, mode: number, flags: number) {
    const attr = this.#add(cred, parent, name, S_IFREG | (mode & 0o7777), (n) => {
      n.data = Buffer.alloc(0);
    });
    return { attr, handle: { fh: this.#nextFh++, ino: attr.ino, flags } };
  }
  async mknod(cred: Credentials, parent: number, name: string, mode: number, rdev: number): Promise<Attr> {
    return this.#add(cred, parent, name, mode, (n) => {
      n.attr.rdev = rdev;
      if ((mode & S_IFMT) === S_IFREG) n.data = Buffer.alloc(0);
    });
  }
  async mkdir(cred: Credentials, parent: number, name: string, mode: number): Promise<Attr> {
    return this.#add(cred, parent, name, S_IFDIR | (mode & 0o7777), (n) => {
      n.children = new Map();
    });
  }
  async unlink(_c: Credentials, parent: number, name: string): Promise<void> {
    const dir = this.#dir(parent);
    const ino = dir.get(name);
    if (ino === undefined) throw new FsError('ENOENT');
    dir.delete(name);
    const n = this.#node(ino);
    if (--n.attr.nlink === 0) this.nodes.delete(ino);
    this.#touch(this.#node(parent));
  }
  rmdir(): Promise<void> {
    enosys();
  }
  rename(): Promise<void> {
    enosys();
  }
  async link(_c: Credentials, ino: number, newParent: number, newName: string): Promise<Attr> {
    const dir = this.#dir(newParent);
    if (dir.has(newName)) throw new FsError('EEXIST');
    const n = this.#node(ino);
    dir.set(newName, ino);
    n.attr.nlink++;
    n.attr.ctimeMs = Date.now();
    return { ...n.attr };
  }
  async symlink(cred: Credentials, parent: number, name: string, target: string): Promise<Attr> {
    return this.#add(cred, parent, name, S_IFLNK | 0o777, (n) => {
      n.target = target;
      n.attr.size = Buffer.byteLength(target);
    });
  }
  async readlink(ino: number): Promise<string> {
    const t = this.#node(ino).target;
    if (t === undefined) throw new FsError('EINVAL');
    return t;
  }
  async open(_c: Credentials, ino: number, flags: number): Promise<FileHandle> {
    const n = this.#node(ino);
    if ((flags & fsConstants.O_TRUNC) !== 0) this.#resize(n, 0);
    return { fh: this.#nextFh++, ino, flags };
  }
  async read(h: FileHandle, offset: number, length: number): Promise<Buffer> {
    this.reads.set(h.ino, (this.reads.get(h.ino) ?? 0) + 1);
    const data = this.#node(h.ino).data ?? Buffer.alloc(0);
    return Buffer.from(data.subarray(offset, offset + length));
  }
  async write(h: FileHandle, offset: number, data: Buffer): Promise<number> {
    const n = this.#node(h.ino);
    if (offset + data.length > n.attr.size) this.#resize(n, offset + data.length);
    data.copy(n.data!, offset);
    this.#touch(n);
    return data.length;
  }
  async fsync(): Promise<void> {}
  async flush(): Promise<void> {}
  async release(): Promise<void> {}
  async readdir(
    _c: Credentials,
    ino: number,
    cookie: number,
    limit: number,
    plus: boolean,
  ): Promise<DirEntry[]> {
    const names = [...this.#dir(ino).entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    return names.slice(cookie, cookie + limit).map(([name, child], i) => {
      const attr = this.#node(child).attr;
      const e: DirEntry = { name, ino: child, type: attr.mode & S_IFMT, cookie: cookie + i + 1 };
      if (plus) e.attr = { ...attr };
      return e;
    });
  }
  async statfs(): Promise<StatFs> {
    let used = 0;
    for (const n of this.nodes.values()) used += n.data?.length ?? 0;
    const blocks = 1 << 20;
    return {
      bsize: 4096,
      frsize: 4096,
      blocks,
      bfree: blocks - Math.ceil(used / 4096),
      bavail: blocks,
      files: 1e6,
      ffree: 1e6,
      namelen: 255,
    };
  }
  async getxattr(_c: Credentials, ino: number, name: string): Promise<Buffer> {
    const v = this.#node(ino).xattrs.get(name);
    if (!v) throw new FsError('ENODATA');
    return Buffer.from(v);
  }
  async setxattr(_c: Credentials, ino: number, name: string, value: Buffer): Promise<void> {
    this.#node(ino).xattrs.set(name, Buffer.from(value));
  }
  async listxattr(_c: Credentials, ino: number): Promise<string[]> {
    return [...this.#node(ino).xattrs.keys()];
  }
  async removexattr(_c: Credentials, ino: number, name: string): Promise<void> {
    if (!this.#node(ino).xattrs.delete(name)) throw new FsError('ENODATA');
  }
  getlk(): Promise<never> {
    enosys();
  }
  setlk(): Promise<void> {
    enosys();
  }
  flock(): Promise<void> {
    enosys();
  }
  fallocate(): Promise<void> {
    enosys();
  }
  onInvalidate(): void {}
  async close(): Promise<void> {
    this.closed = true;
  }
}
