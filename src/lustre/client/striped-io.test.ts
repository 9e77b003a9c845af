// StripedIo's choice of copies on mirrored layouts: stale copies never read, one lost copy reported stale before a write succeeds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FsError, UnavailableError } from '../../lib/errors.ts';
import type { Layout } from '../types.ts';
import type { OstPool } from './ost-pool.ts';
import { StripedIo } from './striped-io.ts';

const KiB = 1024;

/** OSTs as in-memory objects; `down` ones refuse connections. Records every call. */
function fakePool(down: Set<number>) {
  const objects = new Map<string, Buffer>();
  const calls: string[] = [];
  const reach = (ost: number) => {
    if (down.has(ost)) throw new UnavailableError(`OST ${ost} refused the connection`);
  };
  const pool = {
    name: (ost: number) => `OST${ost}`,
    async read(ost: number, object: string, offset: number, length: number) {
      calls.push(`read ${ost}`);
      reach(ost);
      return (objects.get(`${ost}/${object}`) ?? Buffer.alloc(0)).subarray(offset, offset + length);
    },
    async write(ost: number, object: string, offset: number, data: Buffer) {
      calls.push(`write ${ost}`);
      reach(ost);
      const old = objects.get(`${ost}/${object}`) ?? Buffer.alloc(0);
      const next = Buffer.alloc(Math.max(old.length, offset + data.length));
      old.copy(next);
      data.copy(next, offset);
      objects.set(`${ost}/${object}`, next);
    },
    async punch() {},
    async sync() {},
    async objectSize(ost: number, object: string) {
      calls.push(`size ${ost}`);
      reach(ost);
      return objects.get(`${ost}/${object}`)?.length ?? 0;
    },
  };
  return { pool: pool as unknown as OstPool, objects, calls };
}

const mirrored = (): Layout => ({ stripeSize: 64 * KiB, stripeCount: 1, osts: [0], mirrors: [1] });

test('a write with one copy unreachable is reported stale, then succeeds; later reads skip that copy', async () => {
  const down = new Set([0]);
  const { pool, objects, calls } = fakePool(down);
  const reports: string[] = [];
  const io = new StripedIo(pool, {
    markStale: async (ino, stripe, ost) => void reports.push(`${ino}.${stripe}@${ost}`),
  });
  const layout = mirrored();
  const data = Buffer.from('new data');
  await io.write(7, layout, 0, data);
  assert.deepEqual(reports, ['7.0@0']);
  assert.deepEqual(layout.stale, [{ stripe: 0, ost: 0 }]);
  assert.ok(objects.get('1/7.0')?.equals(data));

  down.clear(); // OST 0 is back but out of date: it must not be read.
  objects.set('0/7.0', Buffer.from('old data'));
  calls.length = 0;
  assert.ok((await io.read(7, layout, 0, data.length)).equals(data));
  assert.deepEqual(calls, ['read 1']);

  // Writes while the copy is stale go to the good copy only, each reported again.
  calls.length = 0;
  await io.write(7, layout, 0, Buffer.from('newer!!!'));
  assert.deepEqual(calls, ['write 1']);
  assert.deepEqual(reports, ['7.0@0', '7.0@0']);
});

test('a write fails with EIO when no copy took it, and when the stale report fails', async () => {
  const { pool } = fakePool(new Set([0, 1]));
  const io = new StripedIo(pool, { markStale: async () => undefined });
  await assert.rejects(io.write(7, mirrored(), 0, Buffer.from('x')), { code: 'EIO' });

  const one = fakePool(new Set([1]));
  const refusing = new StripedIo(one.pool, {
    markStale: async () => {
      throw new FsError('EIO', 'both copies would be stale');
    },
  });
  const layout = mirrored();
  await assert.rejects(refusing.write(7, layout, 0, Buffer.from('x')), { code: 'EIO' });
  assert.equal(layout.stale, undefined, 'nothing recorded, nothing assumed');
});

test('without markStale (no MDS to tell) a mirrored write needs both copies', async () => {
  const { pool } = fakePool(new Set([1]));
  await assert.rejects(new StripedIo(pool).write(7, mirrored(), 0, Buffer.from('x')), { code: 'EIO' });
});

test('a read fails over to the other copy when one is unreachable, but never to a stale one', async () => {
  const { pool, objects } = fakePool(new Set([0]));
  const io = new StripedIo(pool);
  objects.set('1/7.0', Buffer.from('mirror'));
  assert.equal((await io.read(7, mirrored(), 0, 6)).toString(), 'mirror');
  const layout = { ...mirrored(), stale: [{ stripe: 0, ost: 1 }] };
  await assert.rejects(io.read(7, layout, 0, 6), { code: 'EIO' });
});

test('glimpse: the size is the largest object end over the stripes, skipping stale copies and surviving a lost mirror', async () => {
  const { pool } = fakePool(new Set());
  const io = new StripedIo(pool);
  const layout: Layout = { stripeSize: 64 * KiB, stripeCount: 4, osts: [0, 1, 2, 3] };
  assert.equal(await io.glimpse(5, layout), 0, 'no objects: an empty file');
  // 64 KiB + 10 bytes written at 3 stripe widths + 100: stripe 3 holds the last byte.
  await io.write(5, layout, 3 * 64 * KiB + 100, Buffer.alloc(64 * KiB + 10, 1));
  assert.equal(await io.glimpse(5, layout), 4 * 64 * KiB + 110);
  // A sparse write far out on stripe 1 (second row) moves the end there.
  await io.write(5, layout, 5 * 64 * KiB + 7, Buffer.from('x'));
  assert.equal(await io.glimpse(5, layout), 5 * 64 * KiB + 8);

  const down = new Set<number>();
  const m = fakePool(down);
  const mio = new StripedIo(m.pool, { markStale: async () => {} });
  const ml = mirrored();
  await mio.write(8, ml, 0, Buffer.alloc(1000, 2));
  m.objects.set('0/8.0', Buffer.alloc(5000)); // a stale copy that is longer must not count
  ml.stale = [{ stripe: 0, ost: 0 }];
  assert.equal(await mio.glimpse(8, ml), 1000);
  ml.stale = [];
  down.add(0);
  m.objects.set('0/8.0', Buffer.alloc(1000));
  assert.equal(await mio.glimpse(8, ml), 1000, 'the mirror answers for an unreachable primary');
  down.add(1);
  await assert.rejects(mio.glimpse(8, ml), (e: FsError) => e.code === 'EIO');
});
