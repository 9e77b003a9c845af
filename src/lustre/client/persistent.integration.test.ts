// PERSISTENT (2 replicas) over the real servers: writes go on while an OSS is down, and its copies are resynced when it returns.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../../../test/lustre/test-cluster.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../types.ts';
import { setstripePath } from './lfs.ts';
import { connectLustre, type LustreClient } from './lustre-client.ts';

const MiB = 1 << 20;
const O_RDWR = 2;

let p: TestCluster;
let c: LustreClient;
/** A second client that does no I/O before the OSS returns (so it has no memory of the OSS failing). */
let d: LustreClient;

before(async () => {
  p = await startTestCluster({ fsname: 'pfs', ossCount: 4, ostCapacityBytes: 256 * MiB, replicas: 2 });
  const mount = (clientId: string) =>
    connectLustre({
      mgsAddress: p.mgsAddress,
      fsname: 'pfs',
      host: 'client-host',
      clientId,
      timeoutMs: 5_000,
    });
  c = await mount('client-c');
  d = await mount('client-d');
  await c.mkdir(ROOT, ROOT_INO, 'd', 0o755);
  await setstripePath(c, '/d', { stripeCount: 2, stripeSize: MiB });
});

after(async () => {
  await c?.close();
  await d?.close();
  await p?.close();
});

const until = (what: string, cond: () => boolean, timeoutMs = 30_000) => waitFor(what, cond, timeoutMs);

/** Reads a whole file through a fresh open (so the layout, with its stale set, comes from the MDS). */
async function readBack(ino: number, length: number, via = c): Promise<Buffer> {
  const h = await via.open(ROOT, ino, O_RDWR);
  try {
    return await via.read(h, 0, length);
  } finally {
    await via.release(h);
  }
}

test('df shows the usable capacity: half of the OSTs, as every object has two copies', async () => {
  const st = await c.statfs();
  assert.equal(st.blocks * st.bsize, Math.floor((4 * 256 * MiB) / 2 / st.bsize) * st.bsize);
});

test('with one OSS down, writes succeed; the stale copies are resynced when it returns', async () => {
  const dir = (await c.resolvePath('/d')).ino;
  const old = await c.create(ROOT, dir, 'old', 0o644, O_RDWR);
  const layout = (await c.getstripe(old.attr.ino)).layout!;
  const before = randomBytes(3 * MiB);
  await c.write(old.handle, 0, before);
  const victim = layout.osts[0]!;
  await p.stopOssOf(victim);

  // Overwrite both stripes of the old file (stripe 0's primary is down) and extend it.
  const expectOld = Buffer.concat([before, randomBytes(MiB)]);
  randomBytes(MiB + MiB / 2).copy(expectOld, MiB / 2);
  await c.write(old.handle, 0, expectOld);
  // A new file, written while the OSS is down (some of its copies may be on it).
  const fresh = await c.create(ROOT, dir, 'new', 0o644, O_RDWR);
  const expectNew = randomBytes(3 * MiB);
  await c.write(fresh.handle, 0, expectNew);
  await c.release(old.handle);
  await c.release(fresh.handle);
  assert.ok(p.staleCount() >= 1, 'the down copy of stripe 0 is recorded stale');
  const shown = (await c.getstripe(old.attr.ino)).layout!;
  assert.deepEqual(shown.stale, [{ stripe: 0, ost: victim }], 'lfs getstripe sees the stale copy');
  assert.ok(
    (await readBack(old.attr.ino, expectOld.length)).equals(expectOld),
    'old file reads the new data',
  );
  assert.ok((await readBack(fresh.attr.ino, expectNew.length)).equals(expectNew), 'new file reads back');

  // Back on the same data and port: its copies are out of date and must not be read before the resync.
  await p.restartOssOf(victim);
  assert.ok((await readBack(old.attr.ino, expectOld.length, d)).equals(expectOld), 'no stale copy read');
  await until('every stale copy resynced', () => p.staleCount() === 0);

  // Now lose, one at a time, each server holding the other copy of a stripe that was stale.
  const files = [
    { ino: old.attr.ino, data: expectOld },
    { ino: fresh.attr.ino, data: expectNew },
  ];
  const others = new Set<number>();
  for (const f of files) {
    const l = (await c.getstripe(f.ino)).layout!;
    l.osts.forEach((ost, s) => {
      const mirror = l.mirrors![s]!;
      if (ost === victim) others.add(mirror);
      if (mirror === victim) others.add(ost);
    });
  }
  assert.ok(others.size >= 1);
  for (const other of others) {
    await p.stopOssOf(other);
    for (const f of files) {
      assert.ok(
        (await readBack(f.ino, f.data.length)).equals(f.data),
        `latest data read with OST ${other} down`,
      );
    }
    await p.restartOssOf(other);
  }
});
