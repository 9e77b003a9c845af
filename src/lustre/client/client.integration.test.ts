// LustreClient end to end over the real MGS, MDS and four OSS servers in this process: striped data, two clients, lfs, lost servers.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../../../test/lustre/test-cluster.ts';
import { FsError } from '../../lib/errors.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { objectSize } from '../striping.ts';
import { ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../types.ts';
import { lfsDf, lfsGetstripe, setstripePath } from './lfs.ts';
import { connectLustre, type LustreClient } from './lustre-client.ts';

const MiB = 1 << 20;
const O_RDONLY = 0;
const O_RDWR = 2;
const LOCAL = 'client-host';

let cluster: TestCluster;
let a: LustreClient;
let b: LustreClient;

before(async () => {
  cluster = await startTestCluster({ localHost: LOCAL, ossCount: 4, ostCapacityBytes: 512 * MiB });
  const mount = (clientId: string) =>
    connectLustre({
      mgsAddress: cluster.mgsAddress,
      fsname: cluster.fsname,
      host: LOCAL,
      clientId,
      timeoutMs: 10_000,
      retryDeadlineMs: 20_000,
    });
  a = await mount('client-a');
  b = await mount('client-b');
  await a.mkdir(ROOT, ROOT_INO, 'wide', 0o755);
  await setstripePath(a, '/wide', { stripeCount: 4, stripeSize: MiB });
});

after(async () => {
  await a?.close();
  await b?.close();
  await cluster?.close();
});

const fsCode = (code: string) => (err: unknown) => err instanceof FsError && err.code === code;

const pollUntil = (what: string, cond: () => Promise<boolean>, timeoutMs = 15_000) =>
  waitFor(what, cond, timeoutMs);

test('8 MiB over 4 stripes: written, read back, truncated, unlinked with its objects', async () => {
  const dir = await a.lookup(ROOT, ROOT_INO, 'wide');
  const { attr, handle } = await a.create(ROOT, dir.ino, 'big', 0o644, O_RDWR);
  const { layout } = await a.getstripe(attr.ino);
  assert.equal(layout?.stripeCount, 4);
  assert.equal(new Set(layout?.osts).size, 4, 'one stripe per OST');

  const data = randomBytes(8 * MiB);
  await Promise.all(
    Array.from({ length: 8 }, (_, i) => a.write(handle, i * MiB, data.subarray(i * MiB, (i + 1) * MiB))),
  );
  assert.equal((await a.getattr(attr.ino)).size, 8 * MiB);
  assert.ok((await a.read(handle, 0, 8 * MiB)).equals(data));
  assert.ok((await a.read(handle, 3 * MiB - 10, 20)).equals(data.subarray(3 * MiB - 10, 3 * MiB + 10)));
  for (let s = 0; s < 4; s++) {
    const { client, target } = await cluster.ossFor(layout!.osts[s]!);
    assert.equal((await client.getattr({ target, object: `${attr.ino}.${s}` }))?.size, 2 * MiB);
  }

  const cut = 3 * MiB + 512 * 1024;
  await a.setattr(ROOT, attr.ino, { size: cut });
  const sizes = [];
  for (let s = 0; s < 4; s++) {
    const { client, target } = await cluster.ossFor(layout!.osts[s]!);
    sizes.push((await client.getattr({ target, object: `${attr.ino}.${s}` }))?.size);
  }
  assert.deepEqual(
    sizes,
    [0, 1, 2, 3].map((s) => objectSize(layout!, cut, s)),
  );
  const back = await a.read(handle, 0, 8 * MiB);
  assert.ok(back.equals(data.subarray(0, cut)), 'short at the new end, same bytes before it');
  await a.setattr(ROOT, attr.ino, { size: 4 * MiB });
  assert.ok(
    (await a.read(handle, cut, MiB)).equals(Buffer.alloc(4 * MiB - cut)),
    'regrown part reads as zeros',
  );

  await a.release(handle);
  await a.unlink(ROOT, dir.ino, 'big');
  await assert.rejects(a.lookup(ROOT, dir.ino, 'big'), fsCode('ENOENT'));
  await pollUntil('objects destroyed', async () => {
    for (let s = 0; s < 4; s++) {
      const { client, target } = await cluster.ossFor(layout!.osts[s]!);
      if ((await client.getattr({ target, object: `${attr.ino}.${s}` })) !== null) return false;
    }
    return true;
  });
});

test('a second client reads what the first just wrote, including growth past the end it knew', async () => {
  const dir = await a.lookup(ROOT, ROOT_INO, 'wide');
  const { attr, handle: wa } = await a.create(ROOT, dir.ino, 'shared', 0o644, O_RDWR);
  const first = randomBytes(1500 * 1024);
  await a.write(wa, 0, first);
  const rb = await b.open(ROOT, attr.ino, O_RDONLY);
  assert.ok((await b.read(rb, 0, 4 * MiB)).equals(first));

  const more = randomBytes(3 * MiB);
  await a.write(wa, first.length, more);
  const seen = await b.read(rb, 0, 8 * MiB);
  assert.equal(seen.length, first.length + more.length);
  assert.ok(seen.equals(Buffer.concat([first, more])));
  assert.equal((await b.getattr(attr.ino)).size, first.length + more.length);
  await a.release(wa);
  await b.release(rb);
});

test('lfs getstripe and df print the layout and the four OSTs', async () => {
  const t = { mgsAddress: cluster.mgsAddress, fsname: cluster.fsname, mountPoint: '/mnt/tfs', host: LOCAL };
  await setstripePath(a, '/wide/two', { stripeCount: 2, stripeSize: 2 * MiB, stripeOffset: 1 });
  const file = await lfsGetstripe({ ...t, path: '/wide/two' });
  assert.match(file, /^\/mnt\/tfs\/wide\/two\nlmm_stripe_count: {2}2\nlmm_stripe_size: {3}2097152\n/);
  assert.match(file, /lmm_stripe_offset: 1\n/);
  const dirText = await lfsGetstripe({ ...t, path: '/wide' });
  assert.match(dirText, /stripe_count: {2}4 stripe_size: {3}1048576/);
  const df = await lfsDf({ ...t, path: '/' });
  for (let i = 0; i < 4; i++) assert.match(df, new RegExp(`tfs-OST000${i}_UUID .*/mnt/tfs\\[OST:${i}\\]`));
  assert.match(df, /filesystem_summary:\s+2147483648 /);
});

test('an MDS restart is ridden out: calls made while it is down complete once it is back', async () => {
  const { attr, handle } = await a.create(ROOT, ROOT_INO, 'survivor', 0o644, O_RDWR);
  await a.write(handle, 0, Buffer.from('before'));
  await cluster.stopMds();
  // Each of these needs the MDS: a mutation, and an fsync that reports the write's size (the write
  // itself goes to the OSTs only).
  const made = a.mkdir(ROOT, ROOT_INO, 'during', 0o755);
  await a.write(handle, 6, Buffer.from(' and after'));
  const synced = a.fsync(handle, false);
  await waitFor('both calls to find the MDS down and wait for it', () => a.mds.waiting >= 2, 15_000);
  await cluster.startMds();
  assert.equal((await made).mode & 0o777, 0o755);
  await synced;
  assert.equal((await b.getattr(attr.ino)).size, 16, 'the size reported by the fsync after the restart');
  assert.equal((await a.read(handle, 0, 100)).toString(), 'before and after');
  assert.equal((await b.lookup(ROOT, ROOT_INO, 'during')).ino, (await made).ino);
  await a.release(handle);
  assert.equal((await a.getattr(attr.ino)).size, 16);
});

test('an MDS that comes back on another address is found through the MGS', async () => {
  const before = (await cluster.config()).mdt.address;
  await cluster.stopMds();
  const made = a.mkdir(ROOT, ROOT_INO, 'moved', 0o755);
  await waitFor('the mkdir to find the MDS down and wait for it', () => a.mds.waiting >= 1, 15_000);
  await cluster.startMds({ newPort: true });
  assert.notEqual((await cluster.config()).mdt.address, before);
  const attr = await made;
  assert.equal((await b.lookup(ROOT, ROOT_INO, 'moved')).ino, attr.ino);
});

test('with an OSS stopped, files with a stripe on it give EIO and the others stay readable', async () => {
  const dir = await a.lookup(ROOT, ROOT_INO, 'wide');
  const wide = await a.create(ROOT, dir.ino, 'everywhere', 0o644, O_RDWR);
  await setstripePath(a, '/narrow', { stripeCount: 1, stripeSize: MiB, stripeOffset: 0 });
  const narrowAttr = await a.resolvePath('/narrow');
  const narrow = await a.open(ROOT, narrowAttr.ino, O_RDWR);
  const data = randomBytes(4 * MiB);
  await a.write(wide.handle, 0, data);
  await a.write(narrow, 0, data);

  const victim = (await a.getstripe(wide.attr.ino)).layout!.osts.find((o) => o !== 0)!;
  await cluster.stopOssOf(victim);
  await assert.rejects(a.read(wide.handle, 0, data.length), fsCode('EIO'));
  await assert.rejects(a.write(wide.handle, 0, data), fsCode('EIO'));
  assert.ok((await a.read(narrow, 0, data.length)).equals(data));
  assert.ok((await a.statfs()).blocks > 0, 'statfs leaves the lost OST out');
  await a.release(narrow);
  await a.release(wide.handle);
});

test('PERSISTENT (2 replicas): every stripe is mirrored on another server and reads survive a lost OSS', async (t) => {
  const p = await startTestCluster({ fsname: 'pfs', ossCount: 4, ostCapacityBytes: 256 * MiB, replicas: 2 });
  const c = await connectLustre({ mgsAddress: p.mgsAddress, fsname: 'pfs', host: LOCAL, timeoutMs: 10_000 });
  t.after(async () => {
    await c.close();
    await p.close();
  });
  await c.mkdir(ROOT, ROOT_INO, 'd', 0o755);
  await setstripePath(c, '/d', { stripeCount: 2, stripeSize: MiB });
  const { attr, handle } = await c.create(ROOT, (await c.resolvePath('/d')).ino, 'm', 0o644, O_RDWR);
  const layout = (await c.getstripe(attr.ino)).layout!;
  assert.equal(layout.mirrors?.length, 2);
  const data = randomBytes(3 * MiB);
  await c.write(handle, 0, data);
  for (let s = 0; s < 2; s++) {
    for (const ost of [layout.osts[s]!, layout.mirrors![s]!]) {
      const { client, target } = await p.ossFor(ost);
      assert.equal(
        (await client.getattr({ target, object: `${attr.ino}.${s}` }))?.size,
        objectSize(layout, data.length, s),
      );
    }
  }
  await p.stopOssOf(layout.osts[0]!);
  assert.ok((await c.read(handle, 0, data.length)).equals(data), 'stripe 0 read from its mirror');
  await c.release(handle);
});
