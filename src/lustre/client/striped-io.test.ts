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
