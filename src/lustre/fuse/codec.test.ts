// Unit tests of the FUSE codecs against the byte layouts of include/uapi/linux/fuse.h.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FsError } from '../../lib/errors.ts';
import type { Attr } from '../types.ts';
import {
  decodeBatchForgetIn,
  decodeCreateIn,
  decodeInHeader,
  decodeLkIn,
  decodeReadIn,
  decodeRenameIn,
  decodeSetattrIn,
  decodeSetxattrIn,
  decodeSymlinkIn,
  decodeWriteIn,
} from './codec-in.ts';
import {
  direntSize,
  encodeAttrOut,
  encodeDirents,
  encodeEntryOut,
  encodeLkOut,
  encodeNotifyInvalEntry,
  encodeNotifyInvalInode,
  encodeOutHeader,
  encodeStatfsOut,
} from './codec-out.ts';
import { OFFSET_MAX, readU64, splitMs, writeU64 } from './protocol.ts';

const GiB = 1024 ** 3;
const noCache = { entryMs: 0, attrMs: 0 };

function attr(over: Partial<Attr> = {}): Attr {
  return {
    ino: 42,
    mode: 0o100644,
    nlink: 1,
    uid: 1000,
    gid: 100,
    rdev: 0,
    size: 5 * GiB + 3,
    blocks: 8,
    atimeMs: 1_700_000_000_123.456,
    mtimeMs: 1_700_000_001_000,
    ctimeMs: 1_700_000_002_999,
    generation: 7,
    ...over,
  };
}

function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

describe('64-bit fields', () => {
  it('round-trips sizes beyond 4 GiB exactly', () => {
    const b = Buffer.alloc(8);
    writeU64(b, 0, 5 * GiB + 1);
    assert.equal(b.readBigUInt64LE(0), BigInt(5 * GiB + 1));
    assert.equal(readU64(b, 0), 5 * GiB + 1);
  });

  it('writes negative seconds (times before 1970) as s64', () => {
    const b = Buffer.alloc(8);
    writeU64(b, 0, -2);
    assert.equal(b.readBigInt64LE(0), -2n);
    assert.deepEqual(splitMs(-1500), { sec: -2, nsec: 500_000_000 });
  });
});

describe('request decoders', () => {
  it('decodes fuse_in_header', () => {
    const h = Buffer.concat([
      u32(64),
      u32(1),
      u64(0x1_0000_0002),
      u64(6 * GiB),
      u32(1000),
      u32(100),
      u32(4321),
      u32(0),
    ]);
    assert.deepEqual(decodeInHeader(h), {
      len: 64,
      opcode: 1,
      unique: 0x1_0000_0002,
      nodeid: 6 * GiB,
      uid: 1000,
      gid: 100,
      pid: 4321,
    });
  });

  it('decodes fuse_setattr_in: size, mode, owner, explicit and NOW times', () => {
    const b = Buffer.alloc(88);
    b.writeUInt32LE(1 | 2 | 4 | 8 | 16 | 64 | 256, 0); // MODE UID GID SIZE ATIME FH MTIME_NOW
    b.writeBigUInt64LE(9n, 8); // fh
    b.writeBigUInt64LE(BigInt(5 * GiB), 16); // size
    b.writeBigInt64LE(-10n, 32); // atime (before the epoch)
    b.writeUInt32LE(250_000_000, 56); // atimensec
    b.writeUInt32LE(0o4755, 68); // mode
    b.writeUInt32LE(1001, 76);
    b.writeUInt32LE(1002, 80);
    assert.deepEqual(decodeSetattrIn(b), {
      fh: 9,
      changes: { mode: 0o4755, uid: 1001, gid: 1002, size: 5 * GiB, atimeMs: -9750, mtimeMs: 'now' },
    });
  });

  it('decodes fuse_write_in at a 5 GiB offset and hands back the data without copying', () => {
    const data = Buffer.from('payload');
    const b = Buffer.concat([u64(3), u64(5 * GiB), u32(data.length), u32(0), u64(0), u32(0), u32(0), data]);
    const w = decodeWriteIn(b);
    assert.equal(w.fh, 3);
    assert.equal(w.offset, 5 * GiB);
    assert.equal(w.data.toString(), 'payload');
    assert.equal(w.data.buffer, b.buffer);
  });

  it('refuses offsets that a Number cannot hold (EFBIG) and short structs (EINVAL)', () => {
    const b = Buffer.concat([u64(1), u64(2n ** 60n), u32(4096), u32(0), u64(0), u32(0), u32(0)]);
    assert.throws(
      () => decodeReadIn(b),
      (e: FsError) => e.code === 'EFBIG',
    );
    assert.throws(
      () => decodeReadIn(Buffer.alloc(8)),
      (e: FsError) => e.code === 'EINVAL',
    );
  });

  it('decodes fuse_lk_in: OFFSET_MAX means to end of file, FUSE_LK_FLOCK flag', () => {
    const b = Buffer.concat([
      u64(5),
      u64(0xdeadbeefcafen),
      u64(100),
      u64(OFFSET_MAX),
      u32(1),
      u32(77),
      u32(1),
      u32(0),
    ]);
    assert.deepEqual(decodeLkIn(b), {
      fh: 5,
      owner: 0xdeadbeefcafen,
      lock: { start: 100, end: Number.MAX_SAFE_INTEGER, type: 'write', pid: 77 },
      lkFlags: 1,
    });
    const out = encodeLkOut({ start: 100, end: Number.MAX_SAFE_INTEGER, type: 'read', pid: 77 });
    assert.equal(out.readBigUInt64LE(8), OFFSET_MAX);
    assert.equal(out.readUInt32LE(16), 0); // F_RDLCK
    assert.equal(out.readUInt32LE(20), 77);
  });

  it('decodes names: RENAME2 flags, SYMLINK name before target, CREATE after its struct', () => {
    const r = decodeRenameIn(Buffer.concat([u64(9), u32(1), u32(0), Buffer.from('old\0new\0')]), true);
    assert.deepEqual(r, { newParent: 9, flags: 1, name: 'old', newName: 'new' });
    const r1 = decodeRenameIn(Buffer.concat([u64(9), Buffer.from('a\0b\0')]), false);
    assert.deepEqual(r1, { newParent: 9, flags: 0, name: 'a', newName: 'b' });
    assert.deepEqual(decodeSymlinkIn(Buffer.from('link\0/some/target\0')), {
      name: 'link',
      target: '/some/target',
    });
    const c = decodeCreateIn(
      Buffer.concat([u32(0o101), u32(0o100600), u32(0o22), u32(0), Buffer.from('f.txt\0')]),
    );
    assert.deepEqual(c, { flags: 0o101, mode: 0o100600, name: 'f.txt' });
  });

  it('carries names that are not UTF-8 in their "/"-and-hex form; rejects unterminated ones', () => {
    const bytes = Buffer.concat([u64(1), Buffer.from([0xff, 0xfe, 0]), Buffer.from('x\0')]);
    assert.deepEqual(decodeRenameIn(bytes, false), { newParent: 1, flags: 0, name: '/fffe', newName: 'x' });
    assert.deepEqual(
      decodeSymlinkIn(Buffer.from([0x61, 0, 0x2f, 0xff, 0])),
      { name: 'a', target: '\0' + '2fff' },
      'a symlink target that is not UTF-8 travels as NUL and hex',
    );
    assert.equal(decodeSymlinkIn(Buffer.from('a\0/b/c\0')).target, '/b/c');
    assert.throws(
      () => decodeSymlinkIn(Buffer.from('abc')),
      (e: FsError) => e.code === 'EINVAL',
    );
  });

  it('decodes SETXATTR (8-byte struct), keeping binary values intact', () => {
    const value = Buffer.from([0, 1, 2, 255]);
    const b = Buffer.concat([u32(value.length), u32(2), Buffer.from('user.k\0'), value]);
    const x = decodeSetxattrIn(b);
    assert.deepEqual(
      { name: x.name, flags: x.flags, value: [...x.value] },
      { name: 'user.k', flags: 2, value: [0, 1, 2, 255] },
    );
  });

  it('decodes BATCH_FORGET', () => {
    const b = Buffer.concat([u32(2), u32(0), u64(5), u64(1), u64(6 * GiB), u64(3)]);
    assert.deepEqual(decodeBatchForgetIn(b), [
      { nodeid: 5, nlookup: 1 },
      { nodeid: 6 * GiB, nlookup: 3 },
    ]);
  });
});

describe('reply encoders', () => {
  it('writes fuse_out_header with a negative errno', () => {
    const h = encodeOutHeader(16, -2, 0x1_0000_0004);
    assert.equal(h.readUInt32LE(0), 16);
    assert.equal(h.readInt32LE(4), -2);
    assert.equal(h.readBigUInt64LE(8), 0x1_0000_0004n);
  });

  it('lays out fuse_entry_out and fuse_attr at the C offsets', () => {
    const b = encodeEntryOut(attr(), { entryMs: 1500, attrMs: 250 });
    assert.equal(b.length, 128);
    assert.equal(b.readBigUInt64LE(0), 42n); // nodeid
    assert.equal(b.readBigUInt64LE(8), 7n); // generation
    assert.equal(b.readBigUInt64LE(16), 1n); // entry_valid
    assert.equal(b.readBigUInt64LE(24), 0n); // attr_valid
    assert.equal(b.readUInt32LE(32), 500_000_000); // entry_valid_nsec
    assert.equal(b.readUInt32LE(36), 250_000_000); // attr_valid_nsec
    const a = 40;
    assert.equal(b.readBigUInt64LE(a), 42n); // ino
    assert.equal(b.readBigUInt64LE(a + 8), BigInt(5 * GiB + 3)); // size
    assert.equal(b.readBigUInt64LE(a + 24), 1_700_000_000n); // atime
    assert.equal(b.readUInt32LE(a + 48), 123_456_000); // atimensec
    assert.equal(b.readBigUInt64LE(a + 40), 1_700_000_002n); // ctime
    assert.equal(b.readUInt32LE(a + 56), 999_000_000); // ctimensec
    assert.equal(b.readUInt32LE(a + 60), 0o100644); // mode
    assert.equal(b.readUInt32LE(a + 68), 1000); // uid
    assert.equal(b.readUInt32LE(a + 72), 100); // gid
  });

  it('lays out fuse_attr_out and fuse_statfs_out', () => {
    const ao = encodeAttrOut(attr(), noCache);
    assert.equal(ao.length, 104);
    assert.equal(ao.readBigUInt64LE(16), 42n);
    const s = encodeStatfsOut({
      bsize: 4096,
      frsize: 4096,
      blocks: 2 ** 40,
      bfree: 2,
      bavail: 1,
      files: 5,
      ffree: 4,
      namelen: 255,
    });
    assert.equal(s.length, 80);
    assert.equal(s.readBigUInt64LE(0), 2n ** 40n);
    assert.equal(s.readUInt32LE(40), 4096); // bsize
    assert.equal(s.readUInt32LE(44), 255); // namelen
    assert.equal(s.readUInt32LE(48), 4096); // frsize
  });

  it('packs directory records 8-byte aligned and stops at the byte budget', () => {
    const entries = ['a', 'bbbbbbbbbbbb', 'c'].map((name, i) => ({
      name,
      ino: 10 + i,
      type: 0o040000,
      cookie: 3 + i,
    }));
    const all = encodeDirents(entries, 4096, false, noCache);
    assert.equal(all.count, 3);
    assert.equal(all.buf.length, 32 + 40 + 32);
    assert.equal(all.buf.readBigUInt64LE(32), 11n); // second record's ino
    assert.equal(all.buf.readBigUInt64LE(40), 4n); // its cookie (off)
    assert.equal(all.buf.readUInt32LE(48), 12); // namelen
    assert.equal(all.buf.readUInt32LE(52), 4); // DT_DIR
    assert.equal(all.buf.toString('utf8', 56, 68), 'bbbbbbbbbbbb');
    const some = encodeDirents(entries, 32 + 39, false, noCache);
    assert.equal(some.count, 1);
    assert.equal(direntSize(1, true), 128 + 32);
  });

  it('packs readdirplus records with a zero nodeid when no attributes came with the entry', () => {
    const entries = [
      { name: 'x', ino: 42, type: 0o100000, cookie: 3, attr: attr() },
      { name: 'y', ino: 43, type: 0o100000, cookie: 4 },
    ];
    const { buf, count } = encodeDirents(entries, 4096, true, noCache);
    assert.equal(count, 2);
    assert.equal(buf.readBigUInt64LE(0), 42n);
    assert.equal(buf.readUInt32LE(128 + 20), 8); // DT_REG
    assert.equal(buf.readBigUInt64LE(160), 0n); // second entry_out.nodeid
    assert.equal(buf.readBigUInt64LE(160 + 128), 43n); // second dirent.ino
  });

  it('encodes the invalidation notifications with unique 0 and the notify code as error', () => {
    const i = encodeNotifyInvalInode(6 * GiB);
    assert.equal(i.readUInt32LE(0), 40);
    assert.equal(i.readInt32LE(4), 2);
    assert.equal(i.readBigUInt64LE(8), 0n);
    assert.equal(i.readBigUInt64LE(16), BigInt(6 * GiB));
    const e = encodeNotifyInvalEntry(1, 'name');
    assert.equal(e.length, 16 + 16 + 5);
    assert.equal(e.readUInt32LE(0), e.length);
    assert.equal(e.readInt32LE(4), 3);
    assert.equal(e.readBigUInt64LE(16), 1n);
    assert.equal(e.readUInt32LE(24), 4);
    assert.equal(e.toString('utf8', 32, 36), 'name');
    assert.equal(e[36], 0);
  });
});
