// OST snapshots on a real directory: copy-on-write keeps each object as it was, across a restart, and a barrier nobody completes ends by itself.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitFor } from '../../lib/wait-for.ts';
import { HandleCache } from './handle-cache.ts';
import { OstTarget } from './ost-target.ts';

test('a snapshot keeps every object as it was: overwritten, created after, destroyed, and after a restart', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-ost-snap-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cache = new HandleCache(8);
  const ost = await OstTarget.create(join(dir, 'ost0'), 'fs-OST0000', 2 ** 30, cache);
  await ost.write('5.0', 0, Buffer.from('old bytes'), false);
  await ost.write('6.0', 0, Buffer.from('gone later'), false);

  await ost.snapshots.freeze('s1', 10_000);
  await ost.snapshots.activate('s1');
  await ost.write('5.0', 0, Buffer.from('NEW'), false);
  await ost.write('7.0', 0, Buffer.from('born after'), false);
  await ost.destroy(['6.0']);

  const snap = async (o: OstTarget, id: string) => (await o.readSnapshot('s1', id, 0, 100)).toString();
  assert.equal((await ost.read('5.0', 0, 100)).toString(), 'NEW bytes');
  assert.equal(await snap(ost, '5.0'), 'old bytes');
  assert.equal(await snap(ost, '7.0'), '', 'an object created after the snapshot is not in it');
  assert.equal(await ost.getattrSnapshot('s1', '7.0'), null);
  assert.equal(await snap(ost, '6.0'), 'gone later', 'a destroyed object is kept');
  assert.equal((await ost.getattrSnapshot('s1', '6.0'))?.size, 10);

  await ost.close();
  const again = await OstTarget.open(join(dir, 'ost0'), cache);
  assert.ok(again);
  assert.equal(await snap(again, '5.0'), 'old bytes', 'the snapshot survives a restart of the OSS');
  await again.write('5.0', 0, Buffer.from('xx'), false);
  assert.equal(await snap(again, '5.0'), 'old bytes', 'and is not kept twice');
  await again.snapshots.drop('s1');
  await assert.rejects(again.readSnapshot('s1', '5.0', 0, 10), { code: 'ENOENT' });
  await again.close();
});

test('a barrier that is never completed ends with its lease: held writes go on', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-ost-snap-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ost = await OstTarget.create(join(dir, 'ost0'), 'fs-OST0000', 2 ** 30, new HandleCache(8));
  t.after(() => ost.close());
  await ost.snapshots.freeze('s2', 300);
  let done = false;
  const write = ost.write('1.0', 0, Buffer.from('held'), false).then(() => {
    done = true;
  });
  assert.equal(done, false);
  await waitFor('the held write to go on after the lease', () => done, 10_000);
  await write;
  await assert.rejects(ost.snapshots.activate('s2'), { code: 'EINVAL' }, 'too late to take it');
  assert.equal((await ost.read('1.0', 0, 10)).toString(), 'held');
});
