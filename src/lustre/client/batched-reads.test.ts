// BatchedReads at its OstPool seam: reads of one OST that wait together go in one readMany; only first-unit reads of one copy are batched.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ObjectRange } from '../protocol/oss-batch-messages.ts';
import type { Layout } from '../types.ts';
import { BatchedReads } from './batched-reads.ts';
import type { OstPool } from './ost-pool.ts';

test('reads for one OST go in one readMany; short answers are padded with zeros; other reads are not batched', async () => {
  const calls: { ost: number; reads: ObjectRange[] }[] = [];
  const pool = {
    readMany: async (ost: number, reads: ObjectRange[]) => {
      calls.push({ ost, reads });
      return reads.map((r) => Buffer.alloc(Math.min(r.length, 3), r.object));
    },
  } as unknown as OstPool;
  const b = new BatchedReads(pool);
  const on = (ost: number): Layout => ({ stripeSize: 1 << 20, stripeCount: 1, osts: [ost] });
  const got = await Promise.all([b.read(5, on(0), 0, 4)!, b.read(6, on(1), 0, 2)!, b.read(7, on(0), 10, 4)!]);
  assert.deepEqual(
    calls.map((c) => [c.ost, c.reads.map((r) => `${r.object}@${r.offset}+${r.length}`)]),
    [
      [0, ['5.0@0+4', '7.0@10+4']],
      [1, ['6.0@0+2']],
    ],
  );
  assert.deepEqual(got[0], Buffer.from('5.0\0'));
  assert.equal(got[1]!.length, 2);
  const mirrored: Layout = { stripeSize: 1 << 20, stripeCount: 1, osts: [0], mirrors: [1] };
  assert.equal(b.read(8, mirrored, 0, 4), undefined, 'two copies: the read path picks one');
  assert.equal(
    b.read(8, { ...mirrored, stale: [{ stripe: 0, ost: 1 }] }, 0, 4) instanceof Promise,
    true,
    'one readable copy',
  );
  assert.equal(b.read(8, on(0), (1 << 20) - 2, 4), undefined, 'past the first stripe unit');
});
