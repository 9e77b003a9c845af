// Unit tests of INIT negotiation, the /proc groups parser and the mountinfo lookup.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGroups } from './credentials.ts';
import { handleInit, WANTED_FLAGS } from './init.ts';
import { findMountDevice } from './mount.ts';
import { InitFlag } from './protocol.ts';

function initIn(major: number, minor: number, flags: number, flags2 = 0): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32LE(major, 0);
  b.writeUInt32LE(minor, 4);
  b.writeUInt32LE(128 * 1024, 8);
  b.writeUInt32LE(flags >>> 0, 12);
  b.writeUInt32LE(flags2 >>> 0, 16);
  return b;
}

describe('INIT', () => {
  it('grants only what the kernel offers, with 1 MiB requests and our minor at most', () => {
    const offered =
      InitFlag.ASYNC_READ | InitFlag.POSIX_LOCKS | InitFlag.WRITEBACK_CACHE | InitFlag.MAX_PAGES;
    const r = handleInit(initIn(7, 45, offered), 1 << 20);
    assert.equal(r.done, true);
    assert.equal(r.minor, 39);
    const out = r.reply;
    assert.equal(out.length, 64);
    assert.equal(out.readUInt32LE(0), 7);
    assert.equal(out.readUInt32LE(4), 39);
    assert.equal(out.readUInt32LE(8), 128 * 1024); // max_readahead as offered
    assert.equal(out.readUInt32LE(12), InitFlag.ASYNC_READ | InitFlag.POSIX_LOCKS | InitFlag.MAX_PAGES);
    assert.equal(out.readUInt32LE(20), 1 << 20); // max_write
    assert.equal(out.readUInt32LE(24), 1); // time_gran
    assert.equal(out.readUInt16LE(28), 256); // max_pages
    assert.equal(out.readUInt32LE(32), 0); // flags2
  });

  it('asks for DIRECT_IO_ALLOW_MMAP through flags2 only when the kernel has INIT_EXT', () => {
    const withExt = handleInit(initIn(7, 39, WANTED_FLAGS | InitFlag.INIT_EXT, 0xffff), 1 << 20).reply;
    assert.equal(withExt.readUInt32LE(32), 1 << 4);
    assert.ok(withExt.readUInt32LE(12) & InitFlag.INIT_EXT);
    const noExt = handleInit(initIn(7, 34, WANTED_FLAGS, 0xffff), 1 << 20);
    assert.equal(noExt.reply.readUInt32LE(32), 0);
    assert.equal(noExt.reply.readUInt32LE(12) & InitFlag.INIT_EXT, 0);
    assert.equal(noExt.minor, 34);
  });

  it('answers a newer major with ours and waits for the next INIT; refuses protocols before 7.31', () => {
    const r = handleInit(initIn(8, 0, 0), 1 << 20);
    assert.equal(r.done, false);
    assert.equal(r.reply.readUInt32LE(0), 7);
    assert.throws(() => handleInit(initIn(7, 26, 0), 1 << 20));
  });
});

describe('credentials', () => {
  it('parses the Groups line of /proc/<pid>/status', () => {
    assert.deepEqual(parseGroups('Name:\tx\nGroups:\t4 24 27 \nNSpid:\t1\n'), [4, 24, 27]);
    assert.deepEqual(parseGroups('Name:\tx\nGroups:\t\n'), []);
    assert.deepEqual(parseGroups('Name:\tx\n'), []);
  });
});

describe('findMountDevice', () => {
  const info = [
    '22 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
    '40 22 0:39 / /tmp/with\\040space rw,nosuid,nodev,relatime - fuse.nacre memory rw,user_id=0,group_id=0',
    '41 22 0:40 / /tmp/other rw - fuse.sshfs x rw',
  ].join('\n');

  it('finds our mount by its (escaped) mount point and type', () => {
    assert.equal(findMountDevice(info, '/tmp/with space'), '0:39');
    assert.equal(findMountDevice(info, '/tmp/other'), undefined);
    assert.equal(findMountDevice(info, '/nowhere'), undefined);
  });
});
