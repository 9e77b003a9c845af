// The namespace of the memory FileSystemClient: inodes, directory entries, link counts, setgid inheritance.
import { FsError } from '../../src/lib/errors.ts';
import {
  type Attr,
  type Credentials,
  NAME_MAX,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  ROOT_INO,
  S_IFDIR,
  S_IFMT,
} from '../../src/lustre/types.ts';
import { SparseData } from './memory-data.ts';

const S_ISGID = 0o2000;

export interface Node {
  attr: Attr;
  data: SparseData;
  entries: Map<string, { ino: number; cookie: number }>;
  parent: number;
  target: string;
  xattrs: Map<string, Buffer>;
  opens: number;
}

export const isDir = (n: Node) => (n.attr.mode & S_IFMT) === S_IFDIR;

/**
 * Inodes by number and the entries of each directory. Directory cookies: 1 is ".", 2 is "..", then
 * a sequence number per entry, so a listing stays stable while entries come and go. An inode lives
 * while it has a name or an open handle (`opens`).
 */
export class MemoryTree {
  readonly nodes = new Map<number, Node>();
  private nextIno = ROOT_INO + 1;
  private nextCookie = 3;

  constructor() {
    const root = this.newNode(ROOT_INO, S_IFDIR | 0o755, { uid: 0, gid: 0, groups: [] }, ROOT_INO);
    root.attr.nlink = 2;
    this.nodes.set(ROOT_INO, root);
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
    return {
      attr,
      data: new SparseData(),
      entries: new Map(),
      parent,
      target: '',
      xattrs: new Map(),
      opens: 0,
    };
  }

  node(ino: number): Node {
    const n = this.nodes.get(ino);
    if (!n) throw new FsError('ENOENT', `inode ${ino}`);
    return n;
  }

  dir(ino: number): Node {
    const n = this.node(ino);
    if (!isDir(n)) throw new FsError('ENOTDIR');
    return n;
  }

  child(parent: number, name: string): Node | undefined {
    const e = this.dir(parent).entries.get(name);
    return e && this.node(e.ino);
  }

  /**
   * Sets ctime (and mtime) to now. Times move forward on every change of a node, even within one
   * millisecond (by a microsecond, which FUSE carries), so a change is always visible in the times.
   */
  touch(n: Node, what: 'c' | 'mc'): void {
    const now = Math.max(Date.now(), n.attr.ctimeMs + 0.001);
    n.attr.ctimeMs = now;
    if (what === 'mc') n.attr.mtimeMs = now;
  }

  addEntry(parent: number, name: string, n: Node): void {
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

  removeEntry(parent: number, name: string, n: Node): void {
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

  maybeFree(n: Node): void {
    if (n.attr.nlink === 0 && n.opens === 0) this.nodes.delete(n.attr.ino);
  }

  make(cred: Credentials, parent: number, name: string, mode: number): Node {
    const n = this.newNode(this.nextIno++, mode, cred, parent);
    if (isDir(n)) n.attr.nlink = 2;
    this.addEntry(parent, name, n);
    this.nodes.set(n.attr.ino, n);
    return n;
  }

  /** True when directory `ino` is `ancestor` or lies below it. */
  private isWithin(ino: number, ancestor: number): boolean {
    for (let cur = ino; ; cur = this.node(cur).parent) {
      if (cur === ancestor) return true;
      if (cur === ROOT_INO) return false;
    }
  }

  /** rename(2) and renameat2(2) with RENAME_NOREPLACE / RENAME_EXCHANGE. */
  rename(parent: number, name: string, newParent: number, newName: string, flags: number): void {
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
}
