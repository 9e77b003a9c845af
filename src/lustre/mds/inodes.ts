// Inode bookkeeping shared by every namespace operation: loading, creating, link counts, orphans and destruction.
import { FsError } from '../../lib/errors.ts';
import {
  type Attr,
  type Credentials,
  type InvalidateEvent,
  type Layout,
  type LayoutPolicy,
  ROOT_INO,
  S_IFDIR,
  S_IFMT,
  S_IFREG,
} from '../types.ts';
import { bumpDataVersion, forgetDataVersion } from './data-version.ts';
import { DEFAULT_POLICY, type LayoutAllocator, layoutObjects, type OstInfo } from './layout.ts';
import { inGroup, isRoot, S_ISGID } from './perm.ts';
import { ProjectQuotas } from './projects.ts';
import type { InodeRow, NewInode, Store } from './store.ts';

/** What an operation changed that others must hear about once it is durable. */
export class Effects {
  readonly events: { event: InvalidateEvent; toAll: boolean }[] = [];
  /** Objects were queued in the pending-destroy log. */
  destroyQueued = false;
  /** Handles closed by the operation: their flock locks (and maybe POSIX locks) go. */
  readonly released: { client: string; ino: number; handle: number }[] = [];

  inode(ino: number, toAll = false): void {
    this.events.push({ event: { kind: 'inode', ino }, toAll });
  }
  entry(parent: number, name: string): void {
    this.events.push({ event: { kind: 'entry', parent, name }, toAll: false });
  }
}

/** Who runs an operation and where its side effects are collected. */
export interface OpContext {
  cred: Credentials;
  /** The client's id from `connect` (owner of handles). */
  client: string;
  /** The client's host (local-first placement). */
  host: string;
  fx: Effects;
}

/** Upper bound of hard links to one non-directory inode. */
export const LINK_MAX = 65_000;
/** Total inodes statfs reports. */
export const MAX_INODES = 2 ** 32;
const DIR_SIZE = 4096;

export interface NsConfig {
  store: Store;
  clock: () => number;
  layouts: LayoutAllocator;
  defaultPolicy: LayoutPolicy;
  /** The OSTs known now (a cached list). */
  osts: () => readonly OstInfo[];
  /**
   * How long a regular file whose last name went (and that nobody has open) stays an orphan that
   * can still be opened by inode, before its destruction: a client that looked the name up just
   * before a rename replaced it then opens the old file, as on a local file system, not ENOENT.
   * 0 (the default) destroys it at once.
   */
  unlinkLingerMs?: number;
}

export function typeOf(mode: number): number {
  return mode & S_IFMT;
}
export function isDir(row: { mode: number }): boolean {
  return typeOf(row.mode) === S_IFDIR;
}

export function toAttr(r: InodeRow): Attr {
  return {
    ino: r.ino,
    mode: r.mode,
    nlink: r.nlink,
    uid: r.uid,
    gid: r.gid,
    rdev: r.rdev,
    size: r.size,
    blocks: r.blocks,
    atimeMs: r.atime,
    mtimeMs: r.mtime,
    ctimeMs: r.ctime,
    generation: r.generation,
  };
}

export function blocksFor(size: number): number {
  return Math.ceil(size / 512);
}

/** The inode helpers every operation builds on. All run inside the caller's transaction. */
export class NsCore {
  readonly store: Store;
  readonly clock: () => number;
  readonly layouts: LayoutAllocator;
  readonly defaultPolicy: LayoutPolicy;
  readonly osts: () => readonly OstInfo[];
  readonly unlinkLingerMs: number;
  /** Project IDs and quotas (their tables live in the same database). */
  readonly projects: ProjectQuotas;

  constructor(cfg: NsConfig) {
    this.unlinkLingerMs = cfg.unlinkLingerMs ?? 0;
    this.store = cfg.store;
    this.clock = cfg.clock;
    this.layouts = cfg.layouts;
    this.defaultPolicy = cfg.defaultPolicy;
    this.osts = cfg.osts;
    this.projects = new ProjectQuotas(this);
  }

  /** The inode, or ENOENT. */
  inode(ino: number): InodeRow {
    const row = this.store.getInode(ino);
    if (!row) throw new FsError('ENOENT', `no inode ${ino}`);
    return row;
  }

  /** A directory that still has a name: ENOENT, ENOTDIR otherwise. */
  dir(ino: number): InodeRow {
    const row = this.inode(ino);
    if (!isDir(row)) throw new FsError('ENOTDIR');
    if (row.nlink === 0) throw new FsError('ENOENT', 'directory was removed');
    return row;
  }

  layoutOf(row: InodeRow): Layout | null {
    return row.layout ? (JSON.parse(row.layout) as Layout) : null;
  }

  /** The policy new files in `dirIno` get: the nearest ancestor's own, else the file system's. */
  effectivePolicy(dirIno: number): LayoutPolicy {
    let ino = dirIno;
    for (let depth = 0; depth < 10_000; depth++) {
      const row = this.inode(ino);
      if (row.policy) return JSON.parse(row.policy) as LayoutPolicy;
      if (ino === ROOT_INO || row.parent === null) break;
      ino = row.parent;
    }
    return { ...DEFAULT_POLICY, ...this.defaultPolicy };
  }

  /**
   * Creates an inode owned by the caller in directory `parent`, applying setgid inheritance, and
   * links it as `name`. Directories get nlink 2 and bump the parent's.
   */
  createInode(
    op: OpContext,
    parent: InodeRow,
    name: string,
    fields: Pick<NewInode, 'mode' | 'rdev'> & Partial<NewInode>,
  ): InodeRow {
    const now = this.clock();
    const dir = typeOf(fields.mode) === S_IFDIR;
    let mode = fields.mode;
    const gid = parent.mode & S_ISGID ? parent.gid : op.cred.gid;
    if (dir && parent.mode & S_ISGID) mode |= S_ISGID;
    if (!dir && mode & S_ISGID && !isRoot(op.cred) && !inGroup(op.cred, gid)) mode &= ~S_ISGID;
    const project = this.projects.forNew(parent);
    const row: NewInode = {
      nlink: dir ? 2 : 1,
      uid: op.cred.uid,
      gid,
      size: dir ? DIR_SIZE : 0,
      blocks: dir ? DIR_SIZE / 512 : 0,
      atime: now,
      mtime: now,
      ctime: now,
      generation: 0,
      parent: dir ? parent.ino : null,
      layout: null,
      policy: null,
      target: null,
      ...fields,
      mode,
    };
    const ino = this.store.insertInode(row);
    this.projects.assign(ino, project, dir);
    this.store.insertDentry(parent.ino, name, ino, typeOf(mode));
    this.store.adjustDir(parent.ino, dir ? 1 : 0, now);
    op.fx.entry(parent.ino, name);
    op.fx.inode(parent.ino);
    return { ...row, ino };
  }

  /**
   * Drops one name of `ino` (a directory loses its only one). At zero links the inode becomes an
   * orphan while handles are open (a regular file also for `unlinkLingerMs`), else it is destroyed.
   */
  dropLink(ino: number, fx: Effects): void {
    const row = this.inode(ino);
    row.nlink = isDir(row) ? 0 : Math.max(0, row.nlink - 1);
    row.ctime = this.clock();
    fx.inode(ino);
    if (row.nlink > 0) {
      this.store.updateInode(row);
    } else if (this.store.openCount(ino) > 0) {
      this.store.updateInode(row);
      this.store.addOrphan(ino, row.ctime);
    } else if (this.unlinkLingerMs > 0 && typeOf(row.mode) === S_IFREG) {
      // Lingering only for a racing open: its space leaves the project's quota now, as a delete's does.
      this.store.updateInode(row);
      this.store.addOrphan(ino, row.ctime);
      this.store.db.prepare('DELETE FROM inode_projects WHERE ino = ?').run(ino);
    } else {
      this.destroy(row, fx);
    }
  }

  /** Deletes an inode with no names and no handles, queueing its OST objects for destruction. */
  destroy(row: InodeRow, fx: Effects): void {
    this.store.deleteInode(row.ino);
    this.store.deleteXattrs(row.ino);
    this.store.removeOrphan(row.ino);
    forgetDataVersion(this.store.db, row.ino);
    const layout = typeOf(row.mode) === S_IFREG ? this.layoutOf(row) : null;
    if (layout) {
      for (const { ost, object } of layoutObjects(row.ino, layout)) this.store.queueDestroy(ost, object);
      fx.destroyQueued = true;
    }
  }

  /** Closes a handle; the last close of an orphan destroys it. */
  closeHandle(handle: number, fx: Effects): void {
    const h = this.store.getHandle(handle);
    if (!h) return;
    this.store.deleteHandle(handle);
    // Its writes are on the OSTs now: an export that read the file before them read another version.
    if (h.flags & 3) bumpDataVersion(this.store.db, h.ino);
    fx.released.push({ client: h.client, ino: h.ino, handle });
    if (this.store.openCount(h.ino) === 0 && this.store.isOrphan(h.ino)) {
      const row = this.store.getInode(h.ino);
      if (row) this.destroy(row, fx);
      else this.store.removeOrphan(h.ino);
    }
  }

  /** Whether `ino` is `ancestor` or lies below it (walking ".." up to the root). */
  isWithin(ino: number, ancestor: number): boolean {
    let cur = ino;
    for (let depth = 0; depth < 100_000; depth++) {
      if (cur === ancestor) return true;
      if (cur === ROOT_INO) return false;
      const row = this.store.getInode(cur);
      if (!row || row.parent === null) return false;
      cur = row.parent;
    }
    throw new FsError('ELOOP', 'directory tree is too deep');
  }
}
