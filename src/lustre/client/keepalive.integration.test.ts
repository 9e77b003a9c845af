// The client's keep-alive follows the grace periods the MDS announces: an idle mount keeps its locks across an MDS restart with a short grace.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestCluster } from '../../../test/lustre/test-cluster.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../types.ts';
import { connectLustre } from './lustre-client.ts';
import { keepaliveMs } from './mds-session.ts';

const O_RDWR = 2;

test('the keep-alive fits three times in the shortest grace period announced, within bounds', () => {
  assert.equal(keepaliveMs(30_000, 5_000), 1_666);
  assert.equal(keepaliveMs(1_200, undefined), 400);
  assert.equal(keepaliveMs(90, 90), 100);
  assert.equal(keepaliveMs(600_000, 600_000), 10_000);
});

test('an idle mount keeps its lock through an MDS restart whose lock grace is shorter than 2 s', async (t) => {
  const graceMs = 1_200;
  const cluster = await startTestCluster({ localHost: 'h', ossCount: 1, ostCapacityBytes: 2 ** 28, graceMs });
  t.after(() => cluster.close());
  const mount = (clientId: string) =>
    connectLustre({ mgsAddress: cluster.mgsAddress, fsname: cluster.fsname, host: 'h', clientId });
  const a = await mount('holder');
  t.after(() => a.close());
  const b = await mount('other');
  t.after(() => b.close());
  assert.equal(a.mds.keepaliveMs, 400, 'a third of the grace period the MDS announced');

  const { attr, handle } = await a.create(ROOT, ROOT_INO, 'locked', 0o644, O_RDWR);
  const lock = { type: 'write' as const, start: 0, end: 99, pid: 1 };
  await a.setlk(handle, 1n, lock, false);
  const theirs = await b.open(ROOT, attr.ino, O_RDWR);
  const held = async () => (await b.getlk(theirs, 2n, lock)).type === 'write';
  assert.ok(await held());

  await cluster.stopMds();
  await cluster.startMds();
  // Watch for twice the grace period: the idle holder's keep-alive reconnects it in time, so its lock never goes.
  const until = Date.now() + 2 * graceMs;
  let checks = 0;
  await waitFor(
    'two grace periods with the lock held throughout',
    async () => {
      assert.ok(await held(), 'the idle holder’s lock is still there');
      checks++;
      return Date.now() > until;
    },
    { timeoutMs: 4 * graceMs + 10_000, intervalMs: 50 },
  );
  assert.ok(checks > 5);
});
