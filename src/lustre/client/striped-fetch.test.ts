// Which GETs an OSS-side fetch of a byte range makes: one per stripe unit, merged where a single stripe keeps the bytes contiguous.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fetchRuns } from './striped-fetch.ts';

const MiB = 1024 * 1024;
const runs = (stripeSize: number, stripeCount: number, offset: number, length: number) =>
  fetchRuns({ stripeSize, stripeCount, osts: [...Array(stripeCount).keys()] }, offset, length).map((r) => [
    r.stripe,
    r.objectOffset,
    r.length,
    r.bufferOffset,
  ]);

test('one stripe: a piece is one GET, whatever the stripe size (runs stop at 64 MiB)', () => {
  assert.deepEqual(runs(MiB, 1, 8 * MiB, 8 * MiB), [[0, 8 * MiB, 8 * MiB, 0]]);
  assert.deepEqual(runs(MiB, 1, 0, 100 * MiB), [
    [0, 0, 64 * MiB, 0],
    [0, 64 * MiB, 36 * MiB, 64 * MiB],
  ]);
});

test('several stripes: one GET per stripe unit, each landing in its own object', () => {
  assert.deepEqual(runs(MiB, 4, MiB / 2, 2 * MiB), [
    [0, MiB / 2, MiB / 2, 0],
    [1, 0, MiB, MiB / 2],
    [2, 0, MiB / 2, (3 * MiB) / 2],
  ]);
  assert.equal(runs(MiB, 4, 0, 8 * MiB).length, 8);
  assert.deepEqual(
    runs(1024 * MiB, 2, 8 * MiB, 8 * MiB),
    [[0, 8 * MiB, 8 * MiB, 0]],
    'pieces inside a large unit',
  );
});
