// Stripe placement: round-robin, free space, local-first, stripe offsets, replicas on other servers, policy checks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fourOsts } from '../../../test/lustre/mds-fixtures.ts';
import { checkPolicy, LayoutAllocator, layoutObjects, type OstInfo } from './layout.ts';

const policy = (stripeCount: number, extra: Partial<{ stripeOffset: number; localFirst: boolean }> = {}) => ({
  stripeSize: 1 << 20,
  stripeCount,
  stripeOffset: -1,
  ...extra,
});

test('round-robin spreads single-stripe files evenly over the OSTs', () => {
  const a = new LayoutAllocator(1);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 40; i++) counts[a.allocate(policy(1), 'x', fourOsts()).osts[0]!]!++;
  assert.deepEqual(counts, [10, 10, 10, 10]);
});

test('stripeCount -1 uses every OST once; a count above the OST count is clamped', () => {
  const a = new LayoutAllocator(1);
  assert.deepEqual([...a.allocate(policy(-1), 'x', fourOsts()).osts].sort(), [0, 1, 2, 3]);
  const l = a.allocate(policy(9), 'x', fourOsts());
  assert.equal(l.stripeCount, 4);
  assert.equal(new Set(l.osts).size, 4);
});

test('stripeOffset starts at that OST index; an unknown index is EINVAL', () => {
  const a = new LayoutAllocator(1);
  assert.deepEqual(a.allocate(policy(3, { stripeOffset: 2 }), 'x', fourOsts()).osts, [2, 3, 0]);
  assert.throws(() => a.allocate(policy(1, { stripeOffset: 7 }), 'x', fourOsts()), { code: 'EINVAL' });
});

test('an OST with much less free space is chosen only when the others are not enough', () => {
  const osts = fourOsts();
  osts[1]!.availBytes = 1e9;
  const a = new LayoutAllocator(1);
  for (let i = 0; i < 12; i++) assert.notEqual(a.allocate(policy(1), 'x', osts).osts[0], 1);
  assert.ok(a.allocate(policy(4), 'x', osts).osts.includes(1));
});

test("localFirst puts the creating client's OSTs first", () => {
  const a = new LayoutAllocator(1);
  for (let i = 0; i < 6; i++) {
    const l = a.allocate(policy(1, { localFirst: true }), 'node-b', fourOsts());
    assert.ok([2, 3].includes(l.osts[0]!), `file ${i} on ${l.osts[0]}`);
  }
  const wide = a.allocate(policy(3, { localFirst: true }), 'node-a', fourOsts());
  assert.deepEqual([...wide.osts.slice(0, 2)].sort(), [0, 1]);
});

test('with two replicas every stripe has a mirror on another server', () => {
  const a = new LayoutAllocator(2);
  const servers = new Map(fourOsts().map((o) => [o.index, o.server]));
  for (let i = 0; i < 10; i++) {
    const l = a.allocate(policy(i % 4 === 0 ? -1 : 2), 'x', fourOsts());
    assert.equal(l.mirrors?.length, l.osts.length);
    for (const [s, o] of l.osts.entries()) assert.notEqual(servers.get(o), servers.get(l.mirrors![s]!));
  }
  const oneServer: OstInfo[] = fourOsts().map((o) => ({ ...o, server: 'only' }));
  assert.throws(() => a.allocate(policy(1), 'x', oneServer), { code: 'ENOSPC' });
});

test('no OSTs: ENOSPC', () => {
  assert.throws(() => new LayoutAllocator(1).allocate(policy(1), 'x', []), { code: 'ENOSPC' });
});

test('policies: stripe sizes are multiples of 64 KiB, counts -1 or positive, offsets -1 or an index', () => {
  assert.doesNotThrow(() => checkPolicy({ stripeSize: 65_536, stripeCount: -1, stripeOffset: 3 }));
  for (const p of [
    { stripeSize: 65_537, stripeCount: 1, stripeOffset: -1 },
    { stripeSize: 0, stripeCount: 1, stripeOffset: -1 },
    { stripeSize: 65_536, stripeCount: -2, stripeOffset: -1 },
    { stripeSize: 65_536, stripeCount: 1, stripeOffset: 1.5 },
  ]) {
    assert.throws(() => checkPolicy(p), { code: 'EINVAL' }, JSON.stringify(p));
  }
});

test('a layout owns one object per stripe, and one more per mirror', () => {
  assert.deepEqual(layoutObjects(7, { stripeSize: 65_536, stripeCount: 2, osts: [3, 1], mirrors: [0, 2] }), [
    { ost: 3, object: '7.0' },
    { ost: 0, object: '7.0' },
    { ost: 1, object: '7.1' },
    { ost: 2, object: '7.1' },
  ]);
});
