import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { handleRequest } from './adopt.ts';
import { Opcode, readUnique, writeUnique } from './protocol.ts';

describe('adopting a FUSE connection', () => {
  it('keeps the unique id of a resent request (bit 63) exact through decode and encode', () => {
    const buf = Buffer.alloc(8);
    buf.writeBigUInt64LE((1n << 63n) | 123456789012n);
    const u = readUnique(buf, 0);
    assert.equal(u, -123456789012);
    const out = Buffer.alloc(8);
    writeUnique(out, 0, u);
    assert.deepEqual(out, buf);
    buf.writeBigUInt64LE(42n);
    assert.equal(readUnique(buf, 0), 42);
  });

  it('reads the handle and open flags of READ and WRITE, and marks FLUSH/RELEASE as nothing left to do; FSYNC reopens (the dead daemon’s writes must become durable)', () => {
    const body = Buffer.alloc(40);
    body.writeBigUInt64LE(77n, 0);
    body.writeUInt32LE(0o2001 | 0o100, 32); // O_WRONLY | O_APPEND | O_CREAT
    assert.deepEqual(handleRequest(Opcode.WRITE, body), { fh: 77, nothingLeft: false, reopenFlags: 0o2001 });
    assert.equal(handleRequest(Opcode.RELEASE, body)?.nothingLeft, true);
    assert.equal(handleRequest(Opcode.FLUSH, body)?.nothingLeft, true);
    assert.deepEqual(handleRequest(Opcode.FSYNC, body), { fh: 77, nothingLeft: false, reopenFlags: 0o2 });
    assert.equal(handleRequest(Opcode.GETLK, body)?.reopenFlags, 0o2);
    assert.equal(handleRequest(Opcode.LOOKUP, body), undefined);
  });
});
