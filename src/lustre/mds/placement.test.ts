import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LayoutAllocator, type OstInfo } from './layout.ts';
import { placementLayout, withPlacement } from './placement.ts';

const osts: OstInfo[] = [0, 1, 2, 3].map((i) => ({
  index: i,
  target: `fs-OST000${i}`,
  host: i < 2 ? 'node-a' : 'node-b',
  server: `oss-${i}`,
}));
const striped = { stripeSize: 1 << 20, stripeCount: 2, stripeOffset: -1 };

test("a directory's own striping keeps the file system's local-first placement", () => {
  const fs = placementLayout('local-first');
  const a = new LayoutAllocator(1);
  for (let i = 0; i < 4; i++) {
    const onB = a.allocate(withPlacement(striped, fs), 'node-b', osts);
    assert.deepEqual(
      onB.osts.map((o) => osts[o]!.host),
      ['node-b', 'node-b'],
      `file ${i}`,
    );
    const single = a.allocate(withPlacement({ ...striped, stripeCount: 1 }, fs), 'node-a', osts);
    assert.equal(osts[single.osts[0]!]!.host, 'node-a');
  }
});

test('spread keeps round-robin, and a directory that chose its placement keeps its choice', () => {
  const spread = withPlacement(striped, placementLayout('spread'));
  assert.equal(spread, striped);
  const a = new LayoutAllocator(1);
  const firsts = Array.from({ length: 4 }, () => a.allocate(spread, 'node-b', osts).osts[0]);
  assert.deepEqual(firsts, [0, 2, 0, 2]);
  const own = { ...striped, localFirst: false };
  assert.equal(withPlacement(own, placementLayout('local-first')), own);
  assert.equal(withPlacement(striped, {}), striped);
});
