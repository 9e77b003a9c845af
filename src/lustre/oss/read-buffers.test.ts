// The OSS's pooled read buffers: many reads in flight over slow and fast connections each get their own bytes (a buffer is reused only after its reply went out).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { OssClient } from '../protocol/oss-client.ts';
import { type OssServer, startOss } from './oss-server.ts';
import { leaseReadBuffer } from './read-buffers.ts';

const MiB = 1 << 20;
let dir: string;
let oss: OssServer;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nacre-readbuf-'));
  oss = await startOss({
    dataDir: path.join(dir, 'data'),
    name: 'oss-test',
    host: 'node-a',
    listen: { host: '127.0.0.1', port: 0 },
    unixSocket: path.join(dir, 'oss.sock'),
  });
});
after(async () => {
  await oss.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('a lease is given back once; a buffer is handed out again only after its release', () => {
  const a = leaseReadBuffer(MiB);
  assert.equal(a.buffer.length, MiB);
  const b = leaseReadBuffer(100);
  assert.notEqual(a.buffer.buffer, b.buffer.buffer, 'two leases never share memory');
  a.release();
  a.release();
  const c = leaseReadBuffer(10);
  const d = leaseReadBuffer(10);
  assert.notEqual(c.buffer.buffer, d.buffer.buffer, 'a double release does not hand one buffer out twice');
  assert.equal(
    leaseReadBuffer(64 * MiB).buffer.length,
    64 * MiB,
    'a read above the pooled size gets its own',
  );
  for (const l of [b, c, d]) l.release();
});

test('reads in flight on several connections each get their own bytes (fails if a buffer is reused before its reply is written)', async () => {
  const clients = [oss.address, oss.localAddress!, oss.address].map((address) => new OssClient({ address }));
  try {
    const target = 't-OST0000';
    await clients[0]!.createTarget(target, 256 * MiB);
    const objects = Array.from({ length: 6 }, () => randomBytes(8 * MiB));
    for (const [i, data] of objects.entries())
      await clients[0]!.write({ target, object: `${i + 1}.0`, offset: 0 }, data);
    const reads = Array.from({ length: 48 }, (_, k) => {
      const i = k % objects.length;
      const offset = ((k * 1_048_583) % (7 * MiB)) & ~4095;
      const length = k % 3 === 0 ? 8 * MiB - offset : MiB + k;
      return { i, offset, length: Math.min(length, 8 * MiB - offset), c: clients[k % clients.length]! };
    });
    const got = await Promise.all(
      reads.map((r) => r.c.read({ target, object: `${r.i + 1}.0`, offset: r.offset, length: r.length })),
    );
    got.forEach((data, k) => {
      const r = reads[k]!;
      assert.ok(data.equals(objects[r.i]!.subarray(r.offset, r.offset + r.length)), `read ${k}`);
    });
  } finally {
    for (const c of clients) c.close();
  }
});
