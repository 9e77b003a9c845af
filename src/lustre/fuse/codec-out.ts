// Encoders of what the daemon writes to /dev/fuse: reply headers, attributes, entries, directory records, notifications.

import type { Attr, DirEntry, FileLock, StatFs } from '../types.ts';
import { nameToBytes } from '../types.ts';
import {
  ATTR_OUT_SIZE,
  align8,
  DIRENT_HEADER_SIZE,
  ENTRY_OUT_SIZE,
  F_RDLCK,
  F_UNLCK,
  F_WRLCK,
  INIT_OUT_SIZE,
  LK_OUT_SIZE,
  NotifyCode,
  OFFSET_MAX,
  OPEN_OUT_SIZE,
  OUT_HEADER_SIZE,
  STATFS_OUT_SIZE,
  splitMs,
  writeU64,
  writeUnique,
} from './protocol.ts';

/** How long the kernel may cache names and attributes. */
export interface CacheTimeouts {
  entryMs: number;
  attrMs: number;
}

/** fuse_out_header: `error` is 0 or a negative errno; for notifications it is the positive notify code. */
export function encodeOutHeader(len: number, error: number, unique: number): Buffer {
  const buf = Buffer.allocUnsafe(OUT_HEADER_SIZE);
  buf.writeUInt32LE(len, 0);
  buf.writeInt32LE(error, 4);
  writeUnique(buf, 8, unique);
  return buf;
}

/** fuse_attr at `off`. */
export function writeAttr(buf: Buffer, off: number, a: Attr): void {
  const at = splitMs(a.atimeMs);
  const mt = splitMs(a.mtimeMs);
  const ct = splitMs(a.ctimeMs);
  writeU64(buf, off, a.ino);
  writeU64(buf, off + 8, a.size);
  writeU64(buf, off + 16, a.blocks);
  writeU64(buf, off + 24, at.sec);
  writeU64(buf, off + 32, mt.sec);
  writeU64(buf, off + 40, ct.sec);
  buf.writeUInt32LE(at.nsec, off + 48);
  buf.writeUInt32LE(mt.nsec, off + 52);
  buf.writeUInt32LE(ct.nsec, off + 56);
  buf.writeUInt32LE(a.mode >>> 0, off + 60);
  buf.writeUInt32LE(a.nlink >>> 0, off + 64);
  buf.writeUInt32LE(a.uid >>> 0, off + 68);
  buf.writeUInt32LE(a.gid >>> 0, off + 72);
  buf.writeUInt32LE(a.rdev >>> 0, off + 76);
  buf.writeUInt32LE(0, off + 80); // blksize: 0 lets the kernel use the superblock's
  buf.writeUInt32LE(0, off + 84); // flags
}

function writeValid(buf: Buffer, secOff: number, nsecOff: number, ms: number): void {
  const { sec, nsec } = splitMs(Math.max(0, ms));
  writeU64(buf, secOff, sec);
  buf.writeUInt32LE(nsec, nsecOff);
}

/** fuse_entry_out at `off`; a null attr encodes a zero nodeid (readdirplus: "no entry to link"). */
export function writeEntryOut(buf: Buffer, off: number, attr: Attr | null, t: CacheTimeouts): void {
  if (attr === null) {
    buf.fill(0, off, off + ENTRY_OUT_SIZE);
    return;
  }
  writeU64(buf, off, attr.ino);
  writeU64(buf, off + 8, attr.generation);
  writeValid(buf, off + 16, off + 32, t.entryMs);
  writeValid(buf, off + 24, off + 36, t.attrMs);
  writeAttr(buf, off + 40, attr);
}

export function encodeEntryOut(attr: Attr, t: CacheTimeouts): Buffer {
  const buf = Buffer.allocUnsafe(ENTRY_OUT_SIZE);
  writeEntryOut(buf, 0, attr, t);
  return buf;
}

export function encodeAttrOut(attr: Attr, t: CacheTimeouts): Buffer {
  const buf = Buffer.allocUnsafe(ATTR_OUT_SIZE);
  writeValid(buf, 0, 8, t.attrMs);
  buf.writeUInt32LE(0, 12);
  writeAttr(buf, 16, attr);
  return buf;
}

export function encodeOpenOut(fh: number, openFlags: number): Buffer {
  const buf = Buffer.alloc(OPEN_OUT_SIZE);
  writeU64(buf, 0, fh);
  buf.writeUInt32LE(openFlags, 8);
  return buf;
}

/** CREATE replies with fuse_entry_out followed by fuse_open_out. */
export function encodeCreateOut(attr: Attr, t: CacheTimeouts, fh: number, openFlags: number): Buffer {
  return Buffer.concat([encodeEntryOut(attr, t), encodeOpenOut(fh, openFlags)]);
}

export interface InitOut {
  minor: number;
  maxReadahead: number;
  flags: number;
  flags2: number;
  maxBackground: number;
  congestionThreshold: number;
  maxWrite: number;
  timeGran: number;
  maxPages: number;
}

export function encodeInitOut(o: InitOut): Buffer {
  const buf = Buffer.alloc(INIT_OUT_SIZE);
  buf.writeUInt32LE(7, 0);
  buf.writeUInt32LE(o.minor, 4);
  buf.writeUInt32LE(o.maxReadahead, 8);
  buf.writeUInt32LE(o.flags >>> 0, 12);
  buf.writeUInt16LE(o.maxBackground, 16);
  buf.writeUInt16LE(o.congestionThreshold, 18);
  buf.writeUInt32LE(o.maxWrite, 20);
  buf.writeUInt32LE(o.timeGran, 24);
  buf.writeUInt16LE(o.maxPages, 28);
  buf.writeUInt16LE(0, 30); // map_alignment
  buf.writeUInt32LE(o.flags2 >>> 0, 32);
  return buf;
}

export function encodeWriteOut(size: number): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeUInt32LE(size, 0);
  return buf;
}

export function encodeStatfsOut(s: StatFs): Buffer {
  const buf = Buffer.alloc(STATFS_OUT_SIZE);
  writeU64(buf, 0, s.blocks);
  writeU64(buf, 8, s.bfree);
  writeU64(buf, 16, s.bavail);
  writeU64(buf, 24, s.files);
  writeU64(buf, 32, s.ffree);
  buf.writeUInt32LE(s.bsize, 40);
  buf.writeUInt32LE(s.namelen, 44);
  buf.writeUInt32LE(s.frsize, 48);
  return buf;
}

/** fuse_getxattr_out: the size a GETXATTR/LISTXATTR probe (size 0) asked for. */
export function encodeXattrSizeOut(size: number): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeUInt32LE(size, 0);
  return buf;
}

/** LISTXATTR's list: each name followed by a NUL. */
export function encodeXattrList(names: readonly string[]): Buffer {
  return Buffer.from(names.map((n) => `${n}\0`).join(''), 'utf8');
}

export function encodeLkOut(lock: FileLock): Buffer {
  const buf = Buffer.alloc(LK_OUT_SIZE);
  const type = lock.type === 'read' ? F_RDLCK : lock.type === 'write' ? F_WRLCK : F_UNLCK;
  writeU64(buf, 0, lock.start);
  if (lock.end >= Number.MAX_SAFE_INTEGER) buf.writeBigUInt64LE(OFFSET_MAX, 8);
  else writeU64(buf, 8, lock.end);
  buf.writeUInt32LE(type, 16);
  buf.writeUInt32LE(lock.pid >>> 0, 20);
  return buf;
}

/** Size of one fuse_dirent (or fuse_direntplus) record for a name of `nameBytes` bytes. */
export function direntSize(nameBytes: number, plus: boolean): number {
  return align8((plus ? ENTRY_OUT_SIZE : 0) + DIRENT_HEADER_SIZE + nameBytes);
}

/**
 * Packs as many entries as fit in `maxBytes` into fuse_dirent (or fuse_direntplus) records.
 * Returns the records and how many entries they hold; entries that did not fit are simply not
 * sent, and the kernel continues from the cookie of the last one that was.
 * In plus mode an entry without `attr` gets a zero nodeid, which the kernel does not link.
 */
export function encodeDirents(
  entries: readonly DirEntry[],
  maxBytes: number,
  plus: boolean,
  t: CacheTimeouts,
): { buf: Buffer; count: number } {
  const names = entries.map((e) => nameToBytes(e.name));
  let total = 0;
  let count = 0;
  for (const name of names) {
    const size = direntSize(name.length, plus);
    if (total + size > maxBytes) break;
    total += size;
    count++;
  }
  const buf = Buffer.alloc(total);
  let off = 0;
  for (let i = 0; i < count; i++) {
    const e = entries[i]!;
    const name = names[i]!;
    if (plus) {
      writeEntryOut(buf, off, e.attr ?? null, t);
      off += ENTRY_OUT_SIZE;
    }
    writeU64(buf, off, e.ino);
    writeU64(buf, off + 8, e.cookie);
    buf.writeUInt32LE(name.length, off + 16);
    buf.writeUInt32LE((e.type >>> 12) & 0xf, off + 20);
    name.copy(buf, off + DIRENT_HEADER_SIZE);
    off += align8(DIRENT_HEADER_SIZE + name.length);
  }
  return { buf, count };
}

/** FUSE_NOTIFY_INVAL_INODE for a whole inode: its attributes and every cached page. */
export function encodeNotifyInvalInode(ino: number): Buffer {
  const body = Buffer.alloc(24);
  writeU64(body, 0, ino);
  writeU64(body, 8, 0); // off 0: pages from the start
  writeU64(body, 16, 0); // len 0: to the end
  return Buffer.concat([encodeOutHeader(OUT_HEADER_SIZE + 24, NotifyCode.INVAL_INODE, 0), body]);
}

/** FUSE_NOTIFY_INVAL_ENTRY: drop the kernel's dentry `name` under `parent`. */
export function encodeNotifyInvalEntry(parent: number, name: string): Buffer {
  const nameBuf = nameToBytes(name);
  const body = Buffer.alloc(16 + nameBuf.length + 1);
  writeU64(body, 0, parent);
  body.writeUInt32LE(nameBuf.length, 8);
  nameBuf.copy(body, 16);
  return Buffer.concat([encodeOutHeader(OUT_HEADER_SIZE + body.length, NotifyCode.INVAL_ENTRY, 0), body]);
}

/** FUSE_NOTIFY_RESEND (Linux 6.9+): the kernel queues again every request a previous daemon read but never answered. */
export function encodeNotifyResend(): Buffer {
  return encodeOutHeader(OUT_HEADER_SIZE, NotifyCode.RESEND, 0);
}
