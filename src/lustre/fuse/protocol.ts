// The Linux /dev/fuse wire protocol: opcodes, flags, struct sizes and the byte helpers the codecs share (include/uapi/linux/fuse.h).

/** Protocol major version we speak. */
export const FUSE_KERNEL_VERSION = 7;
/** Highest minor version we implement (7.39 adds FUSE_DIRECT_IO_ALLOW_MMAP, which we use). */
export const FUSE_KERNEL_MINOR_VERSION = 39;
/** Lowest minor version whose struct layouts these codecs assume. */
export const FUSE_MIN_MINOR_VERSION = 31;

export const FUSE_ROOT_ID = 1;

export const Opcode = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  SETXATTR: 21,
  GETXATTR: 22,
  LISTXATTR: 23,
  REMOVEXATTR: 24,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  GETLK: 31,
  SETLK: 32,
  SETLKW: 33,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36,
  BMAP: 37,
  DESTROY: 38,
  IOCTL: 39,
  POLL: 40,
  NOTIFY_REPLY: 41,
  BATCH_FORGET: 42,
  FALLOCATE: 43,
  READDIRPLUS: 44,
  RENAME2: 45,
  LSEEK: 46,
  COPY_FILE_RANGE: 47,
  SYNCFS: 50,
  TMPFILE: 51,
  STATX: 52,
} as const;

/** Opcode number → name, for logs. */
export const opcodeName: ReadonlyMap<number, string> = new Map(
  Object.entries(Opcode).map(([name, n]) => [n, name]),
);

/** INIT flags (the low 32 bits go in `flags`, the high 32 in `flags2` when FUSE_INIT_EXT is set). */
export const InitFlag = {
  ASYNC_READ: 1 << 0,
  POSIX_LOCKS: 1 << 1,
  ATOMIC_O_TRUNC: 1 << 3,
  EXPORT_SUPPORT: 1 << 4,
  BIG_WRITES: 1 << 5,
  DONT_MASK: 1 << 6,
  FLOCK_LOCKS: 1 << 10,
  AUTO_INVAL_DATA: 1 << 12,
  DO_READDIRPLUS: 1 << 13,
  READDIRPLUS_AUTO: 1 << 14,
  ASYNC_DIO: 1 << 15,
  WRITEBACK_CACHE: 1 << 16,
  PARALLEL_DIROPS: 1 << 18,
  HANDLE_KILLPRIV: 1 << 19,
  MAX_PAGES: 1 << 22,
  /** The file system clears set-ID bits itself: FATTR_KILL_SUIDGID, FUSE_WRITE_KILL_SUIDGID, FUSE_OPEN_KILL_SUIDGID. */
  HANDLE_KILLPRIV_V2: 1 << 28,
  INIT_EXT: 1 << 30,
} as const;

/** Bits of `flags2` (bit n here is bit 32+n of the 64-bit flag word). */
export const InitFlag2 = {
  /** FUSE_DIRECT_IO_ALLOW_MMAP (1 << 36): shared mmap works on FOPEN_DIRECT_IO files. */
  DIRECT_IO_ALLOW_MMAP: 1 << 4,
} as const;

export const FATTR_MODE = 1 << 0;
export const FATTR_UID = 1 << 1;
export const FATTR_GID = 1 << 2;
export const FATTR_SIZE = 1 << 3;
export const FATTR_ATIME = 1 << 4;
export const FATTR_MTIME = 1 << 5;
export const FATTR_FH = 1 << 6;
export const FATTR_ATIME_NOW = 1 << 7;
export const FATTR_MTIME_NOW = 1 << 8;
/** With HANDLE_KILLPRIV_V2: a truncate or chown by a caller without CAP_FSETID (chown: any caller) clears set-ID bits. */
export const FATTR_KILL_SUIDGID = 1 << 11;

/** fuse_write_in.write_flags: pages of the page cache written back (shared mmap); the kernel holds them until the reply. */
export const FUSE_WRITE_CACHE = 1 << 0;
/** fuse_write_in.write_flags: the writer lacks CAP_FSETID, so the write clears set-ID bits. */
export const FUSE_WRITE_KILL_SUIDGID = 1 << 2;
/** fuse_open_in.open_flags: an O_TRUNC open by a caller without CAP_FSETID clears set-ID bits. */
export const FUSE_OPEN_KILL_SUIDGID = 1 << 0;

export const FOPEN_DIRECT_IO = 1 << 0;
export const FOPEN_KEEP_CACHE = 1 << 1;

export const FUSE_GETATTR_FH = 1 << 0;
export const FUSE_LK_FLOCK = 1 << 0;
export const FUSE_FSYNC_FDATASYNC = 1 << 0;

/** fcntl lock types as the kernel sends them (x86/arm64 Linux). */
export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;
/** The kernel's OFFSET_MAX: a lock that runs to end of file. */
export const OFFSET_MAX = 0x7fff_ffff_ffff_ffffn;

export const NotifyCode = { INVAL_INODE: 2, INVAL_ENTRY: 3, RESEND: 7 } as const;

export const IN_HEADER_SIZE = 40;
export const OUT_HEADER_SIZE = 16;
export const ATTR_SIZE = 88;
export const ENTRY_OUT_SIZE = 40 + ATTR_SIZE;
export const ATTR_OUT_SIZE = 16 + ATTR_SIZE;
export const OPEN_OUT_SIZE = 16;
export const INIT_OUT_SIZE = 64;
export const STATFS_OUT_SIZE = 80;
export const LK_OUT_SIZE = 24;
export const DIRENT_HEADER_SIZE = 24;
export const WRITE_IN_SIZE = 40;

/** Smallest /dev/fuse read buffer for a given max_write: header, write_in, data, and a page of slack. */
export function readBufferSize(maxWrite: number): number {
  return maxWrite + 64 * 1024;
}

const TWO_32 = 0x1_0000_0000;

/**
 * Reads an unsigned 64-bit field as a Number. Values above 2^53 come back inexact; callers that
 * can receive them (offsets, lengths) check `Number.isSafeInteger`.
 */
export function readU64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) * TWO_32;
}

/** Bit 63 of a request's unique id: the kernel resent it after FUSE_NOTIFY_RESEND. */
const RESEND_BIT = 0x8000_0000;

/**
 * A request's unique id as a number: a resent request (bit 63 set) becomes the negated id of the
 * original, so it stays exact; `writeUnique` writes it back with the bit.
 */
export function readUnique(buf: Buffer, off: number): number {
  const high = buf.readUInt32LE(off + 4);
  if (!(high & RESEND_BIT)) return buf.readUInt32LE(off) + high * TWO_32;
  return -(buf.readUInt32LE(off) + (high & ~RESEND_BIT) * TWO_32);
}

export function writeUnique(buf: Buffer, off: number, unique: number): void {
  if (unique >= 0) {
    writeU64(buf, off, unique);
    return;
  }
  writeU64(buf, off, -unique);
  buf.writeUInt32LE((buf.readUInt32LE(off + 4) | RESEND_BIT) >>> 0, off + 4);
}

/** Writes a non-negative integer up to 2^53 as u64; negative values are written as two's complement s64. */
export function writeU64(buf: Buffer, off: number, n: number): void {
  if (n >= 0 && n <= Number.MAX_SAFE_INTEGER) {
    buf.writeUInt32LE(n % TWO_32, off);
    buf.writeUInt32LE(Math.floor(n / TWO_32), off + 4);
  } else {
    buf.writeBigInt64LE(BigInt(Math.trunc(n)), off);
  }
}

/**
 * Splits milliseconds since the epoch into whole seconds and nanoseconds (0 ≤ nsec < 1e9). A double
 * holding today's time in ms resolves about 0.24 µs, so nanoseconds are rounded to whole microseconds.
 */
export function splitMs(ms: number): { sec: number; nsec: number } {
  let sec = Math.floor(ms / 1000);
  let nsec = Math.round((ms - sec * 1000) * 1000) * 1000;
  if (nsec >= 1e9) {
    sec += 1;
    nsec -= 1e9;
  }
  return { sec, nsec };
}

/** Joins seconds and nanoseconds into milliseconds since the epoch. */
export function joinMs(sec: number, nsec: number): number {
  return sec * 1000 + nsec / 1e6;
}

/** Length of a directory record, padded to 8 bytes as FUSE_DIRENT_ALIGN does. */
export function align8(n: number): number {
  return (n + 7) & ~7;
}
