// LustreClient against small fake MGS, MDS and OSS servers: striped placement, holes, retries with the same xid, lost OSTs, mirrors.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { FakeMds, FakeOss, fakeMgs, targetConfig } from '../../../test/lustre/fake-servers.ts';
import { FsError } from '../../lib/errors.ts';
import type { FileSystemConfig } from '../protocol/mgs-messages.ts';
import type { RpcServer } from '../protocol/rpc-server.ts';
import { type InvalidateEvent, type Layout, ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../types.ts';
import { connectLustre, type LustreClient } from './lustre-client.ts';

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_RDWR = 2;
const O_APPEND = 0o2000;
const KiB = 1024;

interface World {
  client: LustreClient;
  mds: FakeMds;
  oss: FakeOss[];
  /** Stops the MDS and starts a new one on the same socket with the same state. */
  restartMds(): Promise<void>;
  stopMds(): Promise<void>;
}

/** Four fake OSS (OST 0 reachable only over its unix socket, as a local OST), a fake MDS and MGS, and a client. */
async function world(t: TestContext, retryDeadlineMs = 5_000): Promise<World> {
  const dir = await mkdtemp(path.join(tmpdir(), 'nacre-client-'));
  const oss = [0, 1, 2, 3].map((i) => new FakeOss([`fk-OST000${i}`]));
  await oss[0]!.listen({ path: path.join(dir, 'oss0.sock') });
  for (const o of oss.slice(1)) await o.listen();
  const mds = new FakeMds();
  const mdsPath = path.join(dir, 'mds.sock');
  let mdsServer: RpcServer = mds.server();
  await mdsServer.listen({ path: mdsPath });
  const config: FileSystemConfig = {
    fsname: 'fk',
    mdt: { ...targetConfig(0, `unix:${mdsPath}`), target: 'fk-MDT0000' },
    osts: oss.map((o, i) =>
      i === 0
        ? targetConfig(0, '127.0.0.1:1', { localAddress: o.address, host: 'node-a' })
        : targetConfig(i, o.address),
    ),
    defaultLayout: { stripeSize: 65536, stripeCount: 1, stripeOffset: -1 },
    replicas: 1,
    generation: 1,
  };
  const mgs = await fakeMgs(() => config);
  const client = await connectLustre({
    mgsAddress: mgs.address,
    fsname: 'fk',
    host: 'node-a',
    clientId: 'c1',
    timeoutMs: 5_000,
    retryDeadlineMs,
  });
  t.after(async () => {
    await client.close();
    await mdsServer.close();
    await mgs.server.close();
    for (const o of oss) await o.server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const restartMds = async () => {
    await mdsServer.close();
    mdsServer = mds.server();
    await mdsServer.listen({ path: mdsPath });
  };
  return { client, mds, oss, restartMds, stopMds: () => mdsServer.close() };
}

async function createFile(w: World, name: string, layout: Layout, flags = O_RDWR) {
  w.mds.layoutFor = () => layout;
  return (await w.client.create(ROOT, ROOT_INO, name, 0o644, flags)).handle;
}

const fsCode = (code: string) => (err: unknown) => err instanceof FsError && err.code === code;

test('a 4-stripe write lands on the right objects at the right offsets and reads back', async (t) => {
  const w = await world(t);
  const layout = { stripeSize: 64 * KiB, stripeCount: 4, osts: [2, 0, 3, 1] };
  const h = await createFile(w, 'f', layout);
  const data = randomBytes(8 * 64 * KiB + 1000);
  const offset = 10_000;
  assert.equal(await w.client.write(h, offset, data), data.length);

  for (let k = 0; k < data.length; k++) {
    const off = offset + k;
    const block = Math.floor(off / (64 * KiB));
    const stripe = block % 4;
    const objOff = Math.floor(block / 4) * 64 * KiB + (off % (64 * KiB));
    const ost = layout.osts[stripe]!;
    const obj = w.oss[ost]!.object(`fk-OST000${ost}`, `${h.ino}.${stripe}`);
    if (obj[objOff] !== data[k]) assert.fail(`byte ${off} is not at ${ost}/${h.ino}.${stripe}+${objOff}`);
  }
  const writes = w.oss.flatMap((o) => o.calls.filter((c) => c.method === 'write'));
  assert.equal(writes.length, 4, 'one write call per stripe');
  assert.equal(w.mds.inode(h.ino).attr.size, 0, 'a write does not wait for the MDS');
  await w.client.fsync(h, false);
  assert.equal(w.mds.inode(h.ino).attr.size, offset + data.length, 'fsync tells the MDS the size');

  const back = await w.client.read(h, 0, offset + data.length + 4096);
  assert.equal(back.length, offset + data.length, 'short only at end of file');
  assert.ok(back.subarray(0, offset).every((b) => b === 0));
  assert.ok(back.subarray(offset).equals(data));
});

test('a read across stripes with holes returns zeros up to the size the MDS holds', async (t) => {
  const w = await world(t);
  const layout = { stripeSize: 64 * KiB, stripeCount: 4, osts: [0, 1, 2, 3] };
  const size = 5 * 64 * KiB + 100;
  const ino = w.mds.addFile('holes', size, undefined, layout);
  w.oss[1]!.objects.set(`fk-OST0001/${ino}.1`, Buffer.alloc(100, 7));
  w.oss[0]!.objects.set(`fk-OST0000/${ino}.0`, Buffer.concat([Buffer.alloc(64 * KiB), Buffer.alloc(50, 9)]));
  const h = await w.client.open(ROOT, ino, O_RDONLY);

  const all = await w.client.read(h, 0, 1 << 20);
  assert.equal(all.length, size);
  const expect = Buffer.alloc(size);
  expect.fill(7, 64 * KiB, 64 * KiB + 100);
  expect.fill(9, 4 * 64 * KiB, 4 * 64 * KiB + 50);
  assert.ok(all.equals(expect), 'data where written, zeros in every hole');
  assert.equal((await w.client.read(h, size, 10)).length, 0);
  assert.deepEqual(await w.client.read(h, size - 10, 100), Buffer.alloc(10));
});

test('a mutation retried after the MDS connection drops reuses its xid, and the caller gets the reply', async (t) => {
  const w = await world(t);
  let restarted: Promise<void> | undefined;
  w.mds.hooks.set('mkdir', () => {
    w.mds.hooks.delete('mkdir');
    restarted = w.restartMds();
    return new Promise(() => {});
  });
  const connectsBefore = w.mds.calls.filter((c) => c.method === 'connect').length;
  const attr = await w.client.mkdir(ROOT, ROOT_INO, 'd', 0o755);
  await restarted;
  assert.equal(attr.ino, w.mds.names.get('d'));
  const [first, second] = w.mds.xidsOf('mkdir');
  assert.ok(first !== undefined && first === second, `xids ${first} and ${second}`);
  const methods = w.mds.calls.map((c) => c.method);
  assert.equal(methods.filter((m) => m === 'connect').length, connectsBefore + 1, 'connect again first');
  assert.equal(methods.lastIndexOf('connect') < methods.lastIndexOf('mkdir'), true);

  await w.client.mkdir(ROOT, ROOT_INO, 'e', 0o755);
  assert.ok(w.mds.xidsOf('mkdir')[2]! > first, 'the next mutation gets a new, larger xid');
});

test('an MDS gone past the retry deadline is EIO; its own errnos pass through unchanged', async (t) => {
  const w = await world(t, 300);
  await assert.rejects(w.client.lookup(ROOT, ROOT_INO, 'nothing'), fsCode('ENOENT'));
  w.mds.hooks.set('getattr', async () => {
    throw new FsError('ESTALE', 'stale');
  });
  await assert.rejects(w.client.getattr(5), fsCode('ESTALE'));
  w.mds.hooks.delete('getattr');
  await w.stopMds();
  const t0 = Date.now();
  await assert.rejects(w.client.mkdir(ROOT, ROOT_INO, 'x', 0o755), fsCode('EIO'));
  assert.ok(Date.now() - t0 < 3_000, 'gave up near the deadline');
  const ac = new AbortController();
  const pending = w.client.getattr(ROOT_INO, ac.signal);
  ac.abort();
  await assert.rejects(pending, fsCode('EINTR'));
});

test('an OST that is down gives EIO for files striped on it; other files stay readable', async (t) => {
  const w = await world(t);
  const a = await createFile(w, 'a', { stripeSize: 64 * KiB, stripeCount: 2, osts: [0, 1] });
  const b = await createFile(w, 'b', { stripeSize: 64 * KiB, stripeCount: 2, osts: [2, 3] });
  const data = randomBytes(200 * KiB);
  await w.client.write(a, 0, data);
  await w.client.write(b, 0, data);
  await w.oss[1]!.server.close();

  await assert.rejects(w.client.read(a, 0, data.length), fsCode('EIO'));
  await assert.rejects(w.client.write(a, 0, data), fsCode('EIO'));
  assert.ok((await w.client.read(b, 0, data.length)).equals(data));
  const st = await w.client.statfs();
  assert.equal(st.blocks, (3 * (1 << 30)) / 4096, 'statfs counts the OSTs that answer');
});

test('a mirrored layout writes both copies and reads fail over to the mirror', async (t) => {
  const w = await world(t);
  const layout = { stripeSize: 64 * KiB, stripeCount: 2, osts: [0, 1], mirrors: [2, 3] };
  const h = await createFile(w, 'm', layout);
  const data = randomBytes(200 * KiB);
  await w.client.write(h, 0, data);
  for (const [p, m] of [
    [0, 2],
    [1, 3],
  ] as const) {
    const stripe = p;
    const primary = w.oss[p]!.object(`fk-OST000${p}`, `${h.ino}.${stripe}`);
    assert.ok(primary.length > 0 && primary.equals(w.oss[m]!.object(`fk-OST000${m}`, `${h.ino}.${stripe}`)));
  }
  await w.oss[0]!.server.close();
  assert.ok((await w.client.read(h, 0, data.length)).equals(data), 'read from the surviving copy');
  await assert.rejects(w.client.write(h, 0, data), fsCode('EIO'), 'a write needs both copies');
});

test('O_APPEND writes at the size the MDS holds; truncate punches each object to its share', async (t) => {
  const w = await world(t);
  const layout = { stripeSize: 64 * KiB, stripeCount: 4, osts: [0, 1, 2, 3] };
  const ino = w.mds.addFile('log', 1000, undefined, layout);
  const h = await w.client.open(ROOT, ino, O_WRONLY | O_APPEND);
  w.mds.inode(ino).attr.size = 2000; // another client wrote meanwhile
  await w.client.write(h, 0, Buffer.from('0123456789'));
  await w.client.fsync(h, false);
  assert.equal(w.mds.inode(ino).attr.size, 2010);
  assert.equal(w.oss[0]!.object('fk-OST0000', `${ino}.0`).subarray(2000).toString(), '0123456789');

  await w.client.setattr(ROOT, ino, { size: 64 * KiB + 4464 });
  const punches = w.oss.flatMap((o) => o.calls.filter((c) => c.method === 'punch'));
  assert.deepEqual(punches.map((c) => [c.object, c.size]).sort(), [
    [`${ino}.0`, 64 * KiB],
    [`${ino}.1`, 4464],
    [`${ino}.2`, 0],
    [`${ino}.3`, 0],
  ]);
  assert.equal(w.mds.inode(ino).attr.size, 64 * KiB + 4464);
});

test('reads reaching the remembered end ask the MDS, so another client’s growth is seen', async (t) => {
  const w = await world(t);
  const layout = { stripeSize: 64 * KiB, stripeCount: 1, osts: [2] };
  const ino = w.mds.addFile('grow', 100, undefined, layout);
  w.oss[2]!.objects.set(`fk-OST0002/${ino}.0`, Buffer.alloc(100, 1));
  const h = await w.client.open(ROOT, ino, O_RDONLY);
  assert.equal((await w.client.read(h, 0, 4096)).length, 100);
  w.oss[2]!.objects.set(`fk-OST0002/${ino}.0`, Buffer.alloc(300, 1));
  w.mds.inode(ino).attr.size = 300;
  assert.equal((await w.client.read(h, 0, 4096)).length, 300);
});

test('invalidations from the MDS reach the listeners; blocking locks end with EINTR on abort', async (t) => {
  const w = await world(t);
  const got: InvalidateEvent[] = [];
  w.client.onInvalidate((e) => void got.push(e));
  const h = await createFile(w, 'l', { stripeSize: 64 * KiB, stripeCount: 1, osts: [1] });
  w.mds.pushAll('invalidate', { kind: 'entry', parent: 1, name: 'x' });
  w.mds.pushAll('invalidate', { kind: 'inode', ino: h.ino });
  const deadline = Date.now() + 5_000;
  while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  assert.deepEqual(got, [
    { kind: 'entry', parent: 1, name: 'x' },
    { kind: 'inode', ino: h.ino },
  ]);

  const lock = { type: 'write' as const, start: 0, end: 10, pid: 1 };
  await assert.rejects(w.client.setlk(h, 7n, lock, false), fsCode('EAGAIN'));
  const ac = new AbortController();
  const waiting = w.client.setlk(h, 7n, lock, true, ac.signal);
  const until = Date.now() + 5_000;
  while (w.mds.calls.filter((c) => c.method === 'setlk').length < 3 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 5));
  }
  ac.abort();
  await assert.rejects(waiting, fsCode('EINTR'));
  const owners = new Set(w.mds.calls.filter((c) => c.method === 'setlk').map((c) => c.args['owner']));
  assert.deepEqual([...owners], ['c1:7']);
});

test('mounting an unknown file system is ENOENT', async (t) => {
  const mgs = await fakeMgs(() => ({ fsname: 'other' }) as FileSystemConfig);
  t.after(() => mgs.server.close());
  await assert.rejects(
    connectLustre({ mgsAddress: mgs.address, fsname: 'fk', host: 'h', timeoutMs: 2_000 }),
    fsCode('ENOENT'),
  );
});
