// The text lfs getstripe and lfs df print, and size-update coalescing behind writes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attrOf } from '../../../test/lustre/fake-servers.ts';
import { SizeExtender } from './inode-cache.ts';
import { formatDf, formatGetstripe } from './lfs.ts';

test('getstripe of a file lists each stripe with its OST index and object, mirrors in their own column', () => {
  const text = formatGetstripe('/mnt/fs/f', 17, false, {
    layout: { stripeSize: 1048576, stripeCount: 2, osts: [3, 0], mirrors: [1, 2] },
    policy: null,
  });
  assert.equal(
    text,
    [
      '/mnt/fs/f',
      'lmm_stripe_count:  2',
      'lmm_stripe_size:   1048576',
      'lmm_pattern:       raid0',
      'lmm_stripe_offset: 3',
      '\tobdidx\t\t objid\t\t mirror',
      '\t     3\t          17.0\t             1',
      '\t     0\t          17.1\t             2',
      '',
    ].join('\n'),
  );
});

test('getstripe marks a stale copy (one that missed writes while its server was away)', () => {
  const text = formatGetstripe('/mnt/fs/f', 17, false, {
    layout: {
      stripeSize: 1048576,
      stripeCount: 2,
      osts: [3, 0],
      mirrors: [1, 2],
      stale: [{ stripe: 1, ost: 2 }],
    },
    policy: null,
  });
  assert.match(text, /\n\t {5}3\t {10}17\.0\t {13}1\n/);
  assert.match(text, /\n\t {5}0\t {10}17\.1\t {13}2\tstale copy on OST 2\n/);
});

test('getstripe of a directory prints its default policy on one line', () => {
  const text = formatGetstripe('/mnt/fs/d', 5, true, {
    layout: null,
    policy: { stripeSize: 4194304, stripeCount: -1, stripeOffset: -1 },
  });
  assert.equal(
    text,
    '/mnt/fs/d\nstripe_count:  -1 stripe_size:   4194304 pattern:       raid0 stripe_offset: -1\n',
  );
});

test('df shows each OST, marks an unreachable one inactive, and sums the ones that answered', () => {
  const stat = (target: string, used: number) => ({
    target,
    capacityBytes: 1000,
    usedBytes: used,
    availBytes: 1000 - used,
    objects: 1,
  });
  const text = formatDf('/mnt/fs', [
    { index: 0, target: 'fs-OST0000', stat: stat('fs-OST0000', 250) },
    { index: 1, target: 'fs-OST0001', error: 'connection refused' },
    { index: 2, target: 'fs-OST0002', stat: stat('fs-OST0002', 1) },
  ]);
  const lines = text.trimEnd().split('\n');
  assert.match(lines[0]!, /^UUID\s+bytes\s+Used\s+Available\s+Use% Mounted on$/);
  assert.match(lines[1]!, /^fs-OST0000_UUID\s+1000\s+250\s+750\s+25% \/mnt\/fs\[OST:0\]$/);
  assert.match(lines[2]!, /^fs-OST0001_UUID\s+: inactive device \(connection refused\)$/);
  assert.match(lines[3]!, /^fs-OST0002_UUID\s+1000\s+1\s+999\s+1% \/mnt\/fs\[OST:2\]$/);
  assert.match(lines[5]!, /^filesystem_summary:\s+2000\s+251\s+1749\s+13% \/mnt\/fs$/);
});

test('size updates coalesce while one is in flight, and every writer waits for an end at least its own', async () => {
  const sent: number[] = [];
  const gates: PromiseWithResolvers<void>[] = [];
  let size = 0;
  const ext = new SizeExtender(async (end) => {
    sent.push(end);
    const gate = Promise.withResolvers<void>();
    gates.push(gate);
    await gate.promise;
    size = Math.max(size, end);
    return attrOf(9, 0o100644, size);
  });
  const waits = [10, 30, 20, 50, 40].map((end) => ext.extend(end).then((a) => [end, a.size] as const));
  assert.deepEqual(sent, [10]);
  gates[0]!.resolve();
  while (gates.length < 2) await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent, [10, 50], 'the four later requests went out as one, with the largest end');
  gates[1]!.resolve();
  for (const [end, got] of await Promise.all(waits)) assert.ok(got >= end, `asked ${end}, saw ${got}`);
});
