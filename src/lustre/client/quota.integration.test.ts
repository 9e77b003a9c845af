// Project quotas through LustreClient on the real MGS, MDS and OSS servers in this process: the agreed client interface,
// many small files filling a project, two clients sharing one, and an MDS restart in the middle.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ALICE } from '../../../test/lustre/mds-fixtures.ts';
import { startTestCluster, type TestCluster } from '../../../test/lustre/test-cluster.ts';
import { FsError } from '../../lib/errors.ts';
import { ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../types.ts';
import { connectLustre, type LustreClient } from './lustre-client.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const O_WRONLY = 1;
const O_TRUNC = 0o1000;
const LOCAL = 'quota-host';

let cluster: TestCluster;
let a: LustreClient;
let b: LustreClient;

before(async () => {
  cluster = await startTestCluster({ localHost: LOCAL, ossCount: 2, ostCapacityBytes: 256 * MiB });
  const mount = (clientId: string) =>
    connectLustre({
      mgsAddress: cluster.mgsAddress,
      fsname: cluster.fsname,
      host: LOCAL,
      clientId,
      timeoutMs: 10_000,
      retryDeadlineMs: 20_000,
    });
  a = await mount('quota-a');
  b = await mount('quota-b');
});

after(async () => {
  await a?.close();
  await b?.close();
  await cluster?.close();
});

/** A directory passing project `id` on, with limits. */
async function volume(name: string, id: number, blockHardLimitBytes: number, inodeHardLimit = 0) {
  const d = await a.mkdir(ROOT, ROOT_INO, name, 0o777);
  await a.setProject(ROOT, d.ino, id, true);
  await a.setQuota(id, { blockHardLimitBytes, inodeHardLimit });
  return d.ino;
}

/** Writes files of `size` bytes in 64 KiB writes until one fails; returns how many were whole and the error. */
async function fill(c: LustreClient, dir: number, prefix: string, size: number, max: number) {
  const chunk = Buffer.alloc(64 * KiB, 1);
  for (let i = 0; i < max; i++) {
    try {
      const { handle } = await c.create(ROOT, dir, `${prefix}${i}`, 0o644, O_WRONLY | O_TRUNC);
      try {
        for (let off = 0; off < size; off += chunk.length) await c.write(handle, off, chunk);
      } finally {
        await c.release(handle);
      }
    } catch (err) {
      return { whole: i, err };
    }
  }
  return { whole: max, err: undefined };
}

test('the client interface: project of a directory, inherited below, limits and usage', async () => {
  const d = await volume('iface', 7, 4 * MiB, 10);
  assert.deepEqual(await a.getProject(d), { projectId: 7, inherit: true });
  const f = await a.mkdir(ROOT, d, 'sub', 0o755);
  assert.deepEqual(await b.getProject(f.ino), { projectId: 7, inherit: true });
  assert.deepEqual(await b.getQuota(7), {
    blockUsageBytes: 0,
    inodeUsage: 2,
    blockHardLimitBytes: 4 * MiB,
    inodeHardLimit: 10,
  });
  await assert.rejects(a.setProject(ALICE, d, 8, true), { code: 'EPERM' });
  const s = await b.statfs(undefined, d);
  assert.deepEqual([s.blocks * s.bsize, s.files, s.ffree], [4 * MiB, 10, 8]);
});

test('many small files fill a project to within one file of its limit, then EDQUOT; deleting frees it', async () => {
  const d = await volume('small', 11, 4 * MiB);
  const r = await fill(a, d, 'f', 128 * KiB, 100);
  assert.ok(r.err instanceof FsError && r.err.code === 'EDQUOT', `stopped by EDQUOT, not ${String(r.err)}`);
  assert.ok(r.whole >= 31, `${r.whole} whole files of 128 KiB before EDQUOT`);
  const q = await a.getQuota(11);
  assert.ok(
    q.blockUsageBytes <= 4 * MiB && q.blockUsageBytes >= 4 * MiB - 128 * KiB,
    `usage ${q.blockUsageBytes}`,
  );
  for (let i = 0; i <= r.whole; i++) await a.unlink(ROOT, d, `f${i}`);
  assert.equal((await a.getQuota(11)).blockUsageBytes, 0);
});

test('two clients filling one project together stop at its limit; an MDS restart midway changes nothing', async () => {
  const d = await volume('shared', 12, 6 * MiB);
  const restart = (async () => {
    await cluster.stopMds();
    await cluster.startMds();
  })();
  const [ra, rb] = await Promise.all([fill(a, d, 'a', 256 * KiB, 100), fill(b, d, 'b', 256 * KiB, 100)]);
  await restart;
  for (const r of [ra, rb]) {
    assert.ok(r.err instanceof FsError && r.err.code === 'EDQUOT', `stopped by EDQUOT, not ${String(r.err)}`);
  }
  const q = await a.getQuota(12);
  assert.ok(q.blockUsageBytes <= 6 * MiB, `usage ${q.blockUsageBytes} within the limit`);
  assert.ok(q.blockUsageBytes >= 5 * MiB, `the writers filled the project (${q.blockUsageBytes})`);
  assert.ok(ra.whole + rb.whole >= 20, `${ra.whole} + ${rb.whole} whole files of 256 KiB`);
});
