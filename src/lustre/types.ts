// The file system's shared vocabulary: attributes, layouts, credentials, and the client port the FUSE adapter drives.

/** Mode type bits (as in <sys/stat.h>). */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFIFO = 0o010000;
export const S_IFSOCK = 0o140000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

/** Inode number of the root directory of every file system. */
export const ROOT_INO = 1;
/** Longest name of one directory entry, in bytes (as on Lustre and ext4). */
export const NAME_MAX = 255;
/** Longest symlink target, in bytes. */
export const PATH_MAX = 4096;

/** Who is asking: the caller's uid, gid and supplementary groups (from the FUSE request or the process). */
export interface Credentials {
  uid: number;
  gid: number;
  groups: readonly number[];
}

export const ROOT_CREDENTIALS: Credentials = { uid: 0, gid: 0, groups: [] };

/** An inode's attributes as the MDS holds them. Times are milliseconds since the epoch (fractional allowed). */
export interface Attr {
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  /** 512-byte blocks allocated (an estimate for regular files). */
  blocks: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  /** Bumped when an inode number is reused; 0 if numbers are never reused. */
  generation: number;
  /**
   * Set by the MDS's getattr while a client has the file open for writing: `size` may be behind
   * the data on the OSTs, whose largest object end is then the size (see mds/size-on-osts.ts).
   */
  sizeOnOsts?: true;
}

/** Time to set: a number of ms since the epoch, or the server's current time. */
export type TimeSpec = number | 'now';

/** Attribute changes of setattr; absent fields are unchanged. */
export interface SetAttrChanges {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atimeMs?: TimeSpec;
  mtimeMs?: TimeSpec;
  /** ctime itself instead of now: root only, for restoring a backup (EPERM otherwise). */
  ctimeMs?: number;
  /**
   * Clear set-ID bits as Linux does when a caller without CAP_FSETID writes, truncates or chowns:
   * S_ISUID always, S_ISGID when group-executable or when the caller is outside the file's group.
   * Alone (after a write) it needs write permission or `fh`.
   */
  killSetId?: boolean;
  /**
   * The open file the change came through (ftruncate, a write): its access mode, not the file's
   * permission bits, allows a size change or killSetId, as for a local file. The client's handle
   * number at this port; the MDS's handle number on the wire.
   */
  fh?: number;
}

/**
 * RAID-0 layout of a regular file: stripe i of the file lives in object (ino, i) on OST `osts[i]`.
 * Byte `off` of the file is in stripe `floor(off / stripeSize) % stripeCount`.
 * `mirrors[i]`, when present, is a second OST holding a replica of stripe i (PERSISTENT deployments).
 */
export interface Layout {
  stripeSize: number;
  stripeCount: number;
  osts: number[];
  mirrors?: number[];
  /**
   * Copies known to be out of date (PERSISTENT file systems, as the MDS reports them): `ost` holds
   * stripe `stripe` but missed writes while its server was away. Such a copy is never read; writes
   * go to the other copy until the MDS has resynced it and dropped the entry. At most one copy of
   * a stripe is stale.
   */
  stale?: { stripe: number; ost: number }[];
}

/** A directory's default layout for new files; -1 stripeCount means "all OSTs". */
export interface LayoutPolicy {
  stripeSize: number;
  stripeCount: number;
  /** First OST index, or -1 to let the MDS choose (round-robin / local-first). */
  stripeOffset: number;
  /** Prefer OSTs on the creating client's host. */
  localFirst?: boolean;
}

export interface DirEntry {
  name: string;
  ino: number;
  /** S_IF* type bits of the entry. */
  type: number;
  /** Opaque position after this entry; pass it back to continue listing. */
  cookie: number;
  /** Present for readdirplus. */
  attr?: Attr;
}

export interface StatFs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  namelen: number;
}

/** A byte-range lock (fcntl) or whole-file lock (flock). `end` is inclusive; Number.MAX_SAFE_INTEGER means to EOF. */
export interface FileLock {
  type: 'read' | 'write' | 'unlock';
  start: number;
  end: number;
  /** Process id of the owner, reported by F_GETLK. */
  pid: number;
}

/** An open file as the client knows it. */
/** Of a change the kernel asked for: the kernel's id of it, which a resend to a new daemon keeps. */
export interface RequestOptions {
  /** The kernel's id of this request on its mount (FUSE `unique`, resend bit cleared): a request the kernel resends to a new daemon keeps it. */
  request?: number;
}

export interface WriteOptions extends RequestOptions {
  /** The kernel writes back pages of its page cache (shared mmap), which it keeps locked meanwhile. */
  fromPageCache?: boolean;
}

export interface FileHandle {
  readonly fh: number;
  readonly ino: number;
  readonly flags: number;
}

/** A project's hard limits (Lustre project quotas); 0 = no limit. */
export interface QuotaLimits {
  blockHardLimitBytes: number;
  inodeHardLimit: number;
}

/** A project's limits and usage: bytes of its regular files (512-byte blocks) and inodes carrying its ID. */
export interface QuotaInfo extends QuotaLimits {
  blockUsageBytes: number;
  inodeUsage: number;
}

/** The MDS lets a client grow a file up to byte `end` (null: no block limit applies) for `ttlMs`. */
export interface QuotaGrant {
  end: number | null;
  ttlMs: number;
}

export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;

/** setxattr flags */
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;

/**
 * The file system as a client sees it, by inode. This is the port `lustre/fuse` drives; the striped
 * client implements it over the network. Every method rejects with `FsError` (the errno the
 * application should see); every method takes an AbortSignal and must not hang past it. Changes
 * take `opts.request`, the kernel's id of the request: a client may answer a resend of a change it
 * already made (to a dead daemon) as it answered then.
 */
export interface FileSystemClient {
  lookup(cred: Credentials, parent: number, name: string, signal?: AbortSignal): Promise<Attr>;
  getattr(ino: number, signal?: AbortSignal): Promise<Attr>;
  /** Size changes truncate or extend the file's objects too. */
  setattr(
    cred: Credentials,
    ino: number,
    changes: SetAttrChanges,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ): Promise<Attr>;
  /** Creates and opens a regular file. EEXIST when `exclusive` and the name exists. */
  create(
    cred: Credentials,
    parent: number,
    name: string,
    mode: number,
    flags: number,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ): Promise<{ attr: Attr; handle: FileHandle }>;
  /** Creates a non-regular, non-directory node (fifo, socket, device) or a regular file without opening it. */
  mknod(
    cred: Credentials,
    parent: number,
    name: string,
    mode: number,
    rdev: number,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ): Promise<Attr>;
  mkdir(
    cred: Credentials,
    parent: number,
    name: string,
    mode: number,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ): Promise<Attr>;
  unlink(
    cred: Credentials,
    parent: number,
    name: string,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ): Promise<void>;
  rmdir(
    cred: Credentials,
    parent: number,
    name: string,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ): Promise<void>;
  rename(
    cred: Credentials,
    parent: number,
    name: string,
    newParent: number,
    newName: string,
    flags: number,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ): Promise<void>;
  link(
    cred: Credentials,
    ino: number,
    newParent: number,
    newName: string,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ): Promise<Attr>;
  symlink(
    cred: Credentials,
    parent: number,
    name: string,
    target: string,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ): Promise<Attr>;
  readlink(ino: number, signal?: AbortSignal): Promise<string>;
  /** Opens an existing inode. O_TRUNC truncates (`opts.request`: once, however often the kernel resends it). The inode stays alive until release even if unlinked. */
  open(
    cred: Credentials,
    ino: number,
    flags: number,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ): Promise<FileHandle>;
  /** Returns fewer bytes than asked only at end of file. Holes read as zeros. */
  read(handle: FileHandle, offset: number, length: number, signal?: AbortSignal): Promise<Buffer>;
  /**
   * The caller (without CAP_FSETID) wrote through `handle` or opened it with O_TRUNC: clear the
   * file's set-ID bits (see SetAttrChanges.killSetId). Cheap when the file has none.
   */
  killSetId?(cred: Credentials, handle: FileHandle, signal?: AbortSignal): Promise<void>;
  /** Writes all of `data` (or rejects). With O_APPEND the offset is the current end of file. Returns bytes written. */
  write(
    handle: FileHandle,
    offset: number,
    data: Buffer,
    signal?: AbortSignal,
    opts?: WriteOptions,
  ): Promise<number>;
  /** Makes the file's data and size durable on the servers. */
  fsync(handle: FileHandle, datasync: boolean, signal?: AbortSignal): Promise<void>;
  /** Called on every close(2) of a descriptor; drops that owner's POSIX locks. */
  flush(handle: FileHandle, lockOwner: bigint, signal?: AbortSignal): Promise<void>;
  /** The last reference to the handle went away; releases flock locks and, if unlinked, the inode. */
  release(handle: FileHandle, signal?: AbortSignal): Promise<void>;
  readdir(
    cred: Credentials,
    ino: number,
    cookie: number,
    limit: number,
    plus: boolean,
    signal?: AbortSignal,
  ): Promise<DirEntry[]>;
  /** `ino`: the inode the caller asked about (df on a path); a client may answer for its project. */
  statfs(signal?: AbortSignal, ino?: number): Promise<StatFs>;
  getxattr(cred: Credentials, ino: number, name: string, signal?: AbortSignal): Promise<Buffer>;
  setxattr(
    cred: Credentials,
    ino: number,
    name: string,
    value: Buffer,
    flags: number,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ): Promise<void>;
  listxattr(cred: Credentials, ino: number, signal?: AbortSignal): Promise<string[]>;
  removexattr(
    cred: Credentials,
    ino: number,
    name: string,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ): Promise<void>;
  /** F_GETLK: the first conflicting lock, or a lock of type 'unlock' if none. */
  getlk(handle: FileHandle, owner: bigint, lock: FileLock, signal?: AbortSignal): Promise<FileLock>;
  /** F_SETLK / F_SETLKW (wait=true: until granted or the signal aborts, then EINTR); EAGAIN on conflict. */
  setlk(
    handle: FileHandle,
    owner: bigint,
    lock: FileLock,
    wait: boolean,
    signal?: AbortSignal,
  ): Promise<void>;
  /** flock(2): whole-file lock held by the open file description. */
  flock(
    handle: FileHandle,
    owner: bigint,
    type: FileLock['type'],
    wait: boolean,
    signal?: AbortSignal,
  ): Promise<void>;
  /** mode 0 allocates (extends size unless FALLOC_FL_KEEP_SIZE); punching holes is ENOTSUP for now. */
  fallocate(
    handle: FileHandle,
    mode: number,
    offset: number,
    length: number,
    signal?: AbortSignal,
  ): Promise<void>;
  /**
   * Registers a callback the client calls when another client changed an inode or a directory entry,
   * so the mount can tell the kernel to drop cached pages and attributes. The listener's promise,
   * if any, resolves once the kernel has dropped them.
   */
  onInvalidate(listener: (event: InvalidateEvent) => void | Promise<void>): void;
}

export type InvalidateEvent =
  | { kind: 'inode'; ino: number }
  | { kind: 'entry'; parent: number; name: string };

// --- Names as bytes: Linux allows any byte but "/" and NUL in a name; one that is not UTF-8 travels as "/" and its bytes in hex.

/** Whether `name` is the "/"-and-hex form of a name that is not UTF-8 ("/" cannot be part of a real name). */
export function isByteName(name: string): boolean {
  return name.startsWith('/');
}

/** A name's bytes as the kernel sent them → the string the file system stores (UTF-8 text when it is UTF-8). */
export function nameFromBytes(bytes: Buffer): string {
  if (Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes)) return bytes.toString('utf8');
  return `/${bytes.toString('hex')}`;
}

/** The bytes the kernel gets back for a stored name. */
export function nameToBytes(name: string): Buffer {
  return isByteName(name) ? Buffer.from(name.slice(1), 'hex') : Buffer.from(name, 'utf8');
}

/**
 * Checks the "/"-and-hex form: EINVAL unless it is lower-case hex of bytes that contain neither
 * "/" nor NUL and are not UTF-8 (so every name has exactly one form). Returns the byte length.
 */
export function byteNameLength(name: string): number | 'invalid' {
  if (!/^\/(?:[0-9a-f]{2})+$/.test(name)) return 'invalid';
  const bytes = Buffer.from(name.slice(1), 'hex');
  if (bytes.includes(0) || bytes.includes(0x2f) || nameFromBytes(bytes) !== name) return 'invalid';
  return bytes.length;
}

// --- Symlink targets as bytes: any byte but NUL; one that is not UTF-8 travels as NUL and its bytes in hex.

/** A symlink target's bytes as the kernel sent them → the string stored (UTF-8 text when it is UTF-8). */
export function targetFromBytes(bytes: Buffer): string {
  if (Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes)) return bytes.toString('utf8');
  return `\0${bytes.toString('hex')}`;
}

/** The bytes the kernel gets back for a stored symlink target. */
export function targetToBytes(target: string): Buffer {
  return target.startsWith('\0') ? Buffer.from(target.slice(1), 'hex') : Buffer.from(target, 'utf8');
}

/**
 * The length in bytes of a target in either form; 'invalid' for a NUL-and-hex form that is not
 * lower-case hex of non-UTF-8 bytes without NUL (every target has exactly one form), or for text
 * that holds a NUL or is not well-formed.
 */
export function targetByteLength(target: string): number | 'invalid' {
  if (!target.startsWith('\0')) {
    return target.includes('\0') || !target.isWellFormed() ? 'invalid' : Buffer.byteLength(target);
  }
  if (!/^\0(?:[0-9a-f]{2})+$/.test(target)) return 'invalid';
  const bytes = Buffer.from(target.slice(1), 'hex');
  return bytes.includes(0) || targetFromBytes(bytes) !== target ? 'invalid' : bytes.length;
}
