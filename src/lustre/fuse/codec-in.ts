// Decoders of what the kernel sends on /dev/fuse: the request header and each opcode's argument struct.
import { FsError } from '../../lib/errors.ts';
import type { FileLock, SetAttrChanges } from '../types.ts';
import { nameFromBytes, targetFromBytes } from '../types.ts';
import {
  F_RDLCK,
  F_UNLCK,
  F_WRLCK,
  FATTR_ATIME,
  FATTR_ATIME_NOW,
  FATTR_FH,
  FATTR_GID,
  FATTR_KILL_SUIDGID,
  FATTR_MODE,
  FATTR_MTIME,
  FATTR_MTIME_NOW,
  FATTR_SIZE,
  FATTR_UID,
  IN_HEADER_SIZE,
  joinMs,
  readU64,
  readUnique,
  WRITE_IN_SIZE,
} from './protocol.ts';

export interface InHeader {
  /** Total length of the request, header included. */
  len: number;
  opcode: number;
  unique: number;
  nodeid: number;
  uid: number;
  gid: number;
  pid: number;
}

export function decodeInHeader(buf: Buffer): InHeader {
  if (buf.length < IN_HEADER_SIZE) throw new FsError('EIO', `short request (${buf.length} bytes)`);
  return {
    len: buf.readUInt32LE(0),
    opcode: buf.readUInt32LE(4),
    unique: readUnique(buf, 8),
    nodeid: readU64(buf, 16),
    uid: buf.readUInt32LE(24),
    gid: buf.readUInt32LE(28),
    pid: buf.readUInt32LE(32),
  };
}

function need(body: Buffer, size: number): void {
  if (body.length < size) throw new FsError('EINVAL', `argument of ${body.length} bytes, need ${size}`);
}

/** A NUL-terminated name at `off`; returns the name and the offset after its NUL. EINVAL unless valid UTF-8. */
export function readName(body: Buffer, off: number): { name: string; next: number } {
  const end = body.indexOf(0, off);
  if (end < 0) throw new FsError('EINVAL', 'unterminated name');
  // Any bytes: a name that is not UTF-8 travels in its "/"-and-hex form (see lustre/names.ts).
  return { name: nameFromBytes(body.subarray(off, end)), next: end + 1 };
}

/** A 64-bit offset or length that must be exact as a Number. */
function safeU64(body: Buffer, off: number): number {
  const n = readU64(body, off);
  if (!Number.isSafeInteger(n)) throw new FsError('EFBIG', 'offset beyond 2^53');
  return n;
}

export interface InitIn {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: number;
  flags2: number;
}

export function decodeInitIn(body: Buffer): InitIn {
  need(body, 16);
  return {
    major: body.readUInt32LE(0),
    minor: body.readUInt32LE(4),
    maxReadahead: body.readUInt32LE(8),
    flags: body.readUInt32LE(12),
    flags2: body.length >= 20 ? body.readUInt32LE(16) : 0,
  };
}

/** fuse_forget_in: how many lookups of the request's nodeid the kernel drops. */
export function decodeForgetIn(body: Buffer): number {
  need(body, 8);
  return readU64(body, 0);
}

export function decodeBatchForgetIn(body: Buffer): Array<{ nodeid: number; nlookup: number }> {
  need(body, 8);
  const count = body.readUInt32LE(0);
  need(body, 8 + count * 16);
  const out: Array<{ nodeid: number; nlookup: number }> = [];
  for (let i = 0; i < count; i++) {
    const off = 8 + i * 16;
    out.push({ nodeid: readU64(body, off), nlookup: readU64(body, off + 8) });
  }
  return out;
}

/** fuse_getattr_in: the handle, when the kernel asks on behalf of an open file (fstat). */
export function decodeGetattrIn(body: Buffer): { fh: number | undefined } {
  if (body.length < 16) return { fh: undefined };
  return { fh: body.readUInt32LE(0) & 1 ? readU64(body, 8) : undefined };
}

export interface SetattrIn {
  changes: SetAttrChanges;
  /** The open file the change came through (ftruncate), if any. */
  fh: number | undefined;
}

export function decodeSetattrIn(body: Buffer): SetattrIn {
  need(body, 88);
  const valid = body.readUInt32LE(0);
  const changes: SetAttrChanges = {};
  if (valid & FATTR_MODE) changes.mode = body.readUInt32LE(68);
  if (valid & FATTR_UID) changes.uid = body.readUInt32LE(76);
  if (valid & FATTR_GID) changes.gid = body.readUInt32LE(80);
  if (valid & FATTR_SIZE) changes.size = safeU64(body, 16);
  if (valid & FATTR_KILL_SUIDGID) changes.killSetId = true;
  if (valid & FATTR_ATIME_NOW) changes.atimeMs = 'now';
  else if (valid & FATTR_ATIME)
    changes.atimeMs = joinMs(Number(body.readBigInt64LE(32)), body.readUInt32LE(56));
  if (valid & FATTR_MTIME_NOW) changes.mtimeMs = 'now';
  else if (valid & FATTR_MTIME)
    changes.mtimeMs = joinMs(Number(body.readBigInt64LE(40)), body.readUInt32LE(60));
  return { changes, fh: valid & FATTR_FH ? readU64(body, 8) : undefined };
}

export function decodeMknodIn(body: Buffer): { mode: number; rdev: number; name: string } {
  need(body, 16);
  return { mode: body.readUInt32LE(0), rdev: body.readUInt32LE(4), name: readName(body, 16).name };
}

export function decodeMkdirIn(body: Buffer): { mode: number; name: string } {
  need(body, 8);
  return { mode: body.readUInt32LE(0), name: readName(body, 8).name };
}

/** SYMLINK carries the new entry's name, then the link target. */
export function decodeSymlinkIn(body: Buffer): { name: string; target: string } {
  const first = readName(body, 0);
  const end = body.indexOf(0, first.next);
  if (end < 0) throw new FsError('EINVAL', 'unterminated symlink target');
  // Any bytes but NUL: a target that is not UTF-8 travels in its NUL-and-hex form (see lustre/types.ts).
  return { name: first.name, target: targetFromBytes(body.subarray(first.next, end)) };
}

export interface RenameIn {
  newParent: number;
  flags: number;
  name: string;
  newName: string;
}

/** RENAME (fuse_rename_in, 8 bytes) and RENAME2 (fuse_rename2_in, 16 bytes), then old and new names. */
export function decodeRenameIn(body: Buffer, withFlags: boolean): RenameIn {
  const size = withFlags ? 16 : 8;
  need(body, size);
  const first = readName(body, size);
  return {
    newParent: readU64(body, 0),
    flags: withFlags ? body.readUInt32LE(8) : 0,
    name: first.name,
    newName: readName(body, first.next).name,
  };
}

export function decodeLinkIn(body: Buffer): { oldNodeid: number; newName: string } {
  need(body, 8);
  return { oldNodeid: readU64(body, 0), newName: readName(body, 8).name };
}

/** fuse_open_in: open(2) flags, and FUSE_OPEN_* flags (`openFlags`). */
export function decodeOpenIn(body: Buffer): { flags: number; openFlags: number } {
  need(body, 8);
  return { flags: body.readUInt32LE(0), openFlags: body.readUInt32LE(4) };
}

export function decodeCreateIn(body: Buffer): { flags: number; mode: number; name: string } {
  need(body, 16);
  return { flags: body.readUInt32LE(0), mode: body.readUInt32LE(4), name: readName(body, 16).name };
}

/** fuse_read_in (READ, READDIR, READDIRPLUS). */
export function decodeReadIn(body: Buffer): { fh: number; offset: number; size: number } {
  need(body, 24);
  return { fh: readU64(body, 0), offset: safeU64(body, 8), size: body.readUInt32LE(16) };
}

/** fuse_write_in and its data; `data` is a view of the request buffer, not a copy. */
export function decodeWriteIn(body: Buffer): {
  fh: number;
  offset: number;
  writeFlags: number;
  data: Buffer;
} {
  need(body, WRITE_IN_SIZE);
  const size = body.readUInt32LE(16);
  need(body, WRITE_IN_SIZE + size);
  return {
    fh: readU64(body, 0),
    offset: safeU64(body, 8),
    writeFlags: body.readUInt32LE(20),
    data: body.subarray(WRITE_IN_SIZE, WRITE_IN_SIZE + size),
  };
}

export function decodeReleaseIn(body: Buffer): { fh: number; flags: number; releaseFlags: number } {
  need(body, 16);
  return { fh: readU64(body, 0), flags: body.readUInt32LE(8), releaseFlags: body.readUInt32LE(12) };
}

export function decodeFlushIn(body: Buffer): { fh: number; lockOwner: bigint } {
  need(body, 24);
  return { fh: readU64(body, 0), lockOwner: body.readBigUInt64LE(16) };
}

export function decodeFsyncIn(body: Buffer): { fh: number; fsyncFlags: number } {
  need(body, 16);
  return { fh: readU64(body, 0), fsyncFlags: body.readUInt32LE(8) };
}

/** SETXATTR without FUSE_SETXATTR_EXT: fuse_setxattr_in is 8 bytes (size, flags), then name, then value. */
export function decodeSetxattrIn(body: Buffer): { name: string; value: Buffer; flags: number } {
  need(body, 8);
  const size = body.readUInt32LE(0);
  const { name, next } = readName(body, 8);
  need(body, next + size);
  return { name, flags: body.readUInt32LE(4), value: Buffer.from(body.subarray(next, next + size)) };
}

export function decodeGetxattrIn(body: Buffer): { size: number; name: string } {
  need(body, 8);
  return { size: body.readUInt32LE(0), name: readName(body, 8).name };
}

/** fuse_getxattr_in of LISTXATTR: only the size. */
export function decodeListxattrIn(body: Buffer): { size: number } {
  need(body, 8);
  return { size: body.readUInt32LE(0) };
}

function lockType(t: number): FileLock['type'] {
  if (t === F_RDLCK) return 'read';
  if (t === F_WRLCK) return 'write';
  if (t === F_UNLCK) return 'unlock';
  throw new FsError('EINVAL', `lock type ${t}`);
}

/** The end of a lock range: the kernel's OFFSET_MAX (to EOF) becomes Number.MAX_SAFE_INTEGER. */
function lockEnd(body: Buffer, off: number): number {
  const end = body.readBigUInt64LE(off);
  return end >= BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(end);
}

export interface LkIn {
  fh: number;
  owner: bigint;
  lock: FileLock;
  /** FUSE_LK_FLOCK: a flock(2) rather than an fcntl lock. */
  lkFlags: number;
}

export function decodeLkIn(body: Buffer): LkIn {
  need(body, 48);
  const start = body.readBigUInt64LE(16);
  return {
    fh: readU64(body, 0),
    owner: body.readBigUInt64LE(8),
    lock: {
      start: start >= BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(start),
      end: lockEnd(body, 24),
      type: lockType(body.readUInt32LE(32)),
      pid: body.readUInt32LE(36),
    },
    lkFlags: body.readUInt32LE(40),
  };
}

export function decodeAccessIn(body: Buffer): { mask: number } {
  need(body, 8);
  return { mask: body.readUInt32LE(0) };
}

/** fuse_interrupt_in: the unique id of the request to interrupt. */
export function decodeInterruptIn(body: Buffer): number {
  need(body, 8);
  return readUnique(body, 0);
}

export function decodeFallocateIn(body: Buffer): {
  fh: number;
  offset: number;
  length: number;
  mode: number;
} {
  need(body, 32);
  return {
    fh: readU64(body, 0),
    offset: safeU64(body, 8),
    length: safeU64(body, 16),
    mode: body.readUInt32LE(24),
  };
}

/** The single NUL-terminated name of LOOKUP, UNLINK, RMDIR, REMOVEXATTR. */
export function decodeNameIn(body: Buffer): string {
  return readName(body, 0).name;
}
