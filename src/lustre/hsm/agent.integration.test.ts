// The HSM agent's import, lazy restore, export and release against the real MGS, MDS and OSS servers (S3 in memory at its seam).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../../../test/lustre/test-cluster.ts';
import { FsError } from '../../lib/errors.ts';
import { waitFor } from '../../lib/wait-for.ts';
import type { ObjectStore } from '../../platform/object-store.ts';
import { connectLustre, type LustreClient } from '../client/lustre-client.ts';
import { HS_ARCHIVED, HS_DIRTY, HS_EXISTS, HS_RELEASED } from '../protocol/hsm-messages.ts';
import { ROOT_CREDENTIALS } from '../types.ts';
import { deregisterAutoExport, type ExportEvent, exportChanges, registerAutoExport } from './auto-export.ts';
import { exportPath } from './exporter.ts';
import { importPrefix, type RepositoryLink } from './importer.ts';
import { formatPosixMetadata } from './posix-metadata.ts';
import { releasePath } from './releaser.ts';
import { runRestorer } from './restorer.ts';
import { MemoryObjectStore } from './test-support/memory-object-store.ts';

let cluster: TestCluster;
let agent: LustreClient;
let user: LustreClient;
const store = new MemoryObjectStore(['b']);
const stop = new AbortController();
let loop: Promise<void>;
const signal = AbortSignal.timeout(120_000);
const link: RepositoryLink = { bucket: 'b', prefix: 'p/', fsPath: '/repo', chunkBytes: 1024 * 1024 };
const noop = () => {};

before(async () => {
  cluster = await startTestCluster({ ossCount: 2 });
  const connect = () =>
    connectLustre({ mgsAddress: cluster.mgsAddress, fsname: cluster.fsname, host: 't', signal });
  agent = await connect();
  await agent.mds.call('hsmAgentPoll', { timeoutMs: 0 }, signal);
  loop = runRestorer(agent, store, { partBytes: 64 * 1024, attempts: 2 }, stop.signal);
  user = await connect();
});
after(async () => {
  stop.abort();
  await loop;
  await user.close();
  await agent.close();
  await cluster.close();
});

async function readWhole(c: LustreClient, path: string): Promise<Buffer> {
  const attr = await c.resolvePath(path, signal);
  const h = await c.open(ROOT_CREDENTIALS, attr.ino, 0, signal);
  try {
    return await c.read(h, 0, attr.size + 1, signal);
  } finally {
    await c.release(h, signal);
  }
}

const stateOf = async (path: string) =>
  (await user.mds.call('hsmState', { ino: (await user.resolvePath(path, signal)).ino }, signal)).flags;

test('import makes released files with S3 metadata; the first open loads them, striped per ImportedFileChunkSize', async () => {
  const big = randomBytes(3 * 1024 * 1024 + 17);
  const meta = formatPosixMetadata({
    uid: 42,
    gid: 43,
    mode: 0o100600,
    atimeMs: 1_500_000_000_000,
    mtimeMs: 1_500_000_000_000,
  });
  await store.put('b', 'p/d/big', big, meta);
  await store.put(
    'b',
    'p/empty-dir/',
    Buffer.alloc(0),
    formatPosixMetadata({ uid: 1, gid: 2, mode: 0o40750, atimeMs: 0, mtimeMs: 0 }),
  );
  await store.put('b', 'p/ln', Buffer.from('d/big'), { 'file-permissions': '0120777' });
  const outcomes: boolean[] = [];
  let found = 0;
  await importPrefix(
    agent,
    store,
    link,
    '',
    (n) => {
      found += n;
    },
    (o) => outcomes.push(o.ok),
    signal,
  );
  assert.equal(found, 3);
  assert.deepEqual(outcomes, [true, true, true]);
  const attr = await user.resolvePath('/repo/d/big', signal);
  assert.deepEqual(
    [attr.uid, attr.gid, attr.mode, attr.size, attr.mtimeMs],
    [42, 43, 0o100600, big.length, 1_500_000_000_000],
  );
  assert.equal(await stateOf('/repo/d/big'), HS_EXISTS | HS_ARCHIVED | HS_RELEASED);
  assert.equal(
    (await user.getstripe(attr.ino, signal)).layout?.stripeCount,
    2,
    '3 MiB in 1 MiB chunks over 2 OSTs',
  );
  const dir = await user.resolvePath('/repo/empty-dir', signal);
  assert.equal(dir.mode & 0o7777, 0o750);
  assert.equal(await user.readlink((await user.resolvePath('/repo/ln', signal)).ino, signal), 'd/big');
  const gets = store.gets;
  const reads = await Promise.all([readWhole(user, '/repo/d/big'), readWhole(user, '/repo/d/big')]);
  assert.ok(reads.every((r) => r.equals(big)));
  assert.equal(store.gets - gets, Math.ceil(big.length / (64 * 1024)), 'two readers, one load');
  // The readers go on once their ranges are in; the agent ends the restore (hsmRestoreDone) just after.
  await waitFor('the restore ended', async () => !((await stateOf('/repo/d/big')) & HS_RELEASED));
  assert.equal(await stateOf('/repo/d/big'), HS_EXISTS | HS_ARCHIVED);
  assert.equal((await user.resolvePath('/repo/d/big', signal)).mtimeMs, 1_500_000_000_000);
});

test('export writes new and changed files with metadata; a dirty file is not released; release then read back', async () => {
  const dir = await user.resolvePath('/repo', signal);
  const { handle } = await user.create(ROOT_CREDENTIALS, dir.ino, 'mine', 0o100644, 0o1, signal);
  const data = randomBytes(200_000);
  await user.write(handle, 0, data, signal);
  await user.release(handle, signal);
  let done = 0;
  await exportPath(
    agent,
    store,
    link,
    '/repo',
    {},
    noop,
    () => {
      done++;
    },
    signal,
  );
  assert.ok(done >= 1);
  assert.ok(store.buckets.get('b')!.get('p/mine')!.body.equals(data));
  assert.equal(store.buckets.get('b')!.get('p/mine')!.metadata['file-permissions'], '0100644');
  assert.equal(await stateOf('/repo/mine'), HS_EXISTS | HS_ARCHIVED);
  const again: string[] = [];
  await exportPath(agent, store, link, '/repo', {}, noop, (o) => again.push(o.path), signal);
  assert.ok(!again.includes('repo/mine'), 'an unchanged archived file is not exported again');

  const w = await user.open(
    ROOT_CREDENTIALS,
    (await user.resolvePath('/repo/mine', signal)).ino,
    0o2,
    signal,
  );
  await user.write(w, 0, Buffer.from('changed'), signal);
  await user.release(w, signal);
  assert.equal(await stateOf('/repo/mine'), HS_EXISTS | HS_ARCHIVED | HS_DIRTY);
  let freed = 0;
  await releasePath(
    agent,
    '/repo',
    0,
    Date.now(),
    noop,
    noop,
    (b) => {
      freed += b;
    },
    signal,
  );
  assert.equal(await stateOf('/repo/mine'), HS_EXISTS | HS_ARCHIVED | HS_DIRTY, 'dirty: never released');
  await exportPath(agent, store, link, '/repo', {}, noop, noop, signal);
  await releasePath(
    agent,
    '/repo',
    0,
    Date.now(),
    noop,
    noop,
    (b) => {
      freed += b;
    },
    signal,
  );
  assert.equal(await stateOf('/repo/mine'), HS_EXISTS | HS_ARCHIVED | HS_RELEASED);
  assert.ok(freed >= 200_000);
  const expected = Buffer.concat([Buffer.from('changed'), data.subarray(7)]);
  assert.ok((await readWhole(user, '/repo/mine')).equals(expected));
});

test('a file written while its export uploads it stays dirty, also a new one, and its next export makes it clean', async () => {
  const dir = await user.resolvePath('/repo', signal);
  const { handle, attr } = await user.create(ROOT_CREDENTIALS, dir.ino, 'racing', 0o100644, 0o1, signal);
  await user.write(handle, 0, Buffer.from('first version'), signal);
  await user.release(handle, signal);
  // The upload happens while a user writes the file again (an ObjectStore wrapper at the seam does it).
  const racing: ObjectStore = Object.create(store);
  racing.put = async (...a: Parameters<ObjectStore['put']>) => {
    if (a[1] === 'p/racing') {
      const w = await user.open(ROOT_CREDENTIALS, attr.ino, 0o1, signal);
      await user.write(w, 0, Buffer.from('second version'), signal);
      await user.release(w, signal);
    }
    return store.put(a[0], a[1], a[2], a[3]);
  };
  await exportPath(agent, racing, link, '/repo/racing', {}, noop, noop, signal);
  assert.equal(store.buckets.get('b')!.get('p/racing')!.body.toString(), 'first version');
  assert.equal(
    await stateOf('/repo/racing'),
    HS_EXISTS | HS_ARCHIVED | HS_DIRTY,
    'changed during its export',
  );
  await exportPath(agent, store, link, '/repo/racing', {}, noop, noop, signal);
  assert.equal(store.buckets.get('b')!.get('p/racing')!.body.toString(), 'second version');
  assert.equal(await stateOf('/repo/racing'), HS_EXISTS | HS_ARCHIVED);
});

test('S3 down during a lazy load: EIO after bounded retries, the file stays released, and it loads once S3 is back', async () => {
  const ino = (await user.resolvePath('/repo/mine', signal)).ino;
  // The reader of the last test went on before the agent ended the restore; a release waits for that.
  await waitFor('the restore ended', async () => !((await stateOf('/repo/mine')) & HS_RELEASED));
  await user.mds.mutate('hsmRelease', { cred: ROOT_CREDENTIALS, ino }, signal);
  store.down = true;
  try {
    // A reader opens at once; its first read waits for the load and fails.
    const h = await user.open(ROOT_CREDENTIALS, ino, 0, signal);
    await assert.rejects(user.read(h, 0, 10, signal), (e) => e instanceof FsError && e.code === 'EIO');
    await user.release(h, signal);
    await assert.rejects(
      user.open(ROOT_CREDENTIALS, ino, 0o2, signal),
      (e) => e instanceof FsError && e.code === 'EIO',
      'a writer waits for the whole file',
    );
    assert.equal((await stateOf('/repo/mine')) & HS_RELEASED, HS_RELEASED);
  } finally {
    store.down = false;
  }
  assert.equal((await readWhole(user, '/repo/mine')).length, 200_000);
});

test('an open for reading updates atime as relatime does, so a release by DurationSinceLastAccess spares a file just read', async () => {
  const dir = await user.resolvePath('/repo', signal);
  const { handle, attr } = await user.create(ROOT_CREDENTIALS, dir.ino, 'aged', 0o100644, 0o1, signal);
  await user.write(handle, 0, Buffer.from('old data'), signal);
  await user.release(handle, signal);
  await exportPath(agent, store, link, '/repo/aged', {}, noop, noop, signal);
  const DAY = 86_400_000;
  const age = async () => {
    const old = Date.now() - 3 * DAY;
    await user.setattr(ROOT_CREDENTIALS, attr.ino, { atimeMs: old, mtimeMs: old }, signal);
  };
  const release = async () => {
    let freed = 0;
    await releasePath(
      agent,
      '/repo/aged',
      DAY,
      Date.now(),
      noop,
      noop,
      (b) => {
        freed += b;
      },
      signal,
    );
    return freed;
  };
  await age();
  const r = await user.open(ROOT_CREDENTIALS, attr.ino, 0, signal);
  await user.read(r, 0, 100, signal);
  await user.release(r, signal);
  assert.ok((await user.getattr(attr.ino, signal)).atimeMs > Date.now() - DAY, 'atime moved on the open');
  assert.equal(await release(), 0, 'read a moment ago: kept');
  await age();
  const viaAgent = await agent.open(ROOT_CREDENTIALS, attr.ino, 0, signal);
  await agent.release(viaAgent, signal);
  assert.ok(
    (await user.getattr(attr.ino, signal)).atimeMs < Date.now() - DAY,
    "the HSM agent's opens are not accesses",
  );
  assert.equal(await release(), 8, 'not read for three days: released');
});

test('automatic export from the changelog: after the last close, per policy; a released file renamed is copied in S3, the old key deleted', async () => {
  const user_ = 'dra:agent-test';
  await registerAutoExport(agent, user_, signal);
  const run = (events: ExportEvent[]) => exportChanges(agent, store, link, events, user_, signal);
  const obj = (key: string) => store.buckets.get('b')!.get(key);
  const dir = await user.resolvePath('/repo', signal);
  const { handle } = await user.create(ROOT_CREDENTIALS, dir.ino, 'auto', 0o100644, 0o1, signal);
  await user.write(handle, 0, Buffer.from('v1'), signal);
  await run(['NEW', 'CHANGED', 'DELETED']);
  assert.equal(obj('p/auto'), undefined, 'open: not yet');
  await user.release(handle, signal);
  await run(['NEW', 'CHANGED', 'DELETED']);
  assert.equal(obj('p/auto')!.body.toString(), 'v1');
  const ino = (await user.resolvePath('/repo/auto', signal)).ino;
  const w = await user.open(ROOT_CREDENTIALS, ino, 0o2, signal);
  await user.write(w, 0, Buffer.from('v2'), signal);
  await user.release(w, signal);
  await run(['NEW']);
  assert.equal(obj('p/auto')!.body.toString(), 'v1', 'CHANGED not in the policy');
  assert.equal(await stateOf('/repo/auto'), HS_EXISTS | HS_ARCHIVED | HS_DIRTY);

  await user.mds.mutate('hsmSet', { cred: ROOT_CREDENTIALS, ino, set: 0, clear: HS_DIRTY }, signal);
  await store.put('b', 'p/auto', Buffer.from('v2'), formatPosixMetadata(await user.getattr(ino, signal)));
  await user.mds.mutate('hsmRelease', { cred: ROOT_CREDENTIALS, ino }, signal);
  await user.rename(ROOT_CREDENTIALS, dir.ino, 'auto', dir.ino, 'moved', 0, signal);
  const gets = store.gets;
  await run(['NEW', 'CHANGED', 'DELETED']);
  assert.equal(obj('p/moved')!.body.toString(), 'v2', 'the new key');
  assert.equal(obj('p/auto'), undefined, 'the old key deleted');
  assert.equal(store.gets, gets, 'copied in S3, not loaded');
  assert.equal(await stateOf('/repo/moved'), HS_EXISTS | HS_ARCHIVED | HS_RELEASED);
  assert.ok((await readWhole(user, '/repo/moved')).equals(Buffer.from('v2')), 'loads from its new key');
  await user.unlink(ROOT_CREDENTIALS, dir.ino, 'moved', signal);
  await run(['NEW', 'CHANGED']);
  assert.ok(obj('p/moved'), 'DELETED not in the policy');
  await user
    .create(ROOT_CREDENTIALS, dir.ino, 'x', 0o100644, 0o1, signal)
    .then((r) => user.release(r.handle, signal));
  await user.unlink(ROOT_CREDENTIALS, dir.ino, 'x', signal);
  await deregisterAutoExport(agent, user_, signal);
  await assert.rejects(run(['NEW']), (e) => e instanceof FsError && e.code === 'ENOENT', 'deregistered');
});

test('an object changed in S3 since its import fails the load with EIO (the agent GETs with If-Match); imported again, it loads', async () => {
  const before = randomBytes(100_000);
  await store.put('b', 'p/changed', before, {});
  await importPrefix(agent, store, link, 'changed', noop, noop, signal);
  const after = randomBytes(100_000); // same size: only the ETag tells
  await store.put('b', 'p/changed', after, {});
  await assert.rejects(readWhole(user, '/repo/changed'), (e) => e instanceof FsError && e.code === 'EIO');
  assert.equal((await stateOf('/repo/changed')) & HS_RELEASED, HS_RELEASED, 'nothing served as the old file');
  await importPrefix(agent, store, link, 'changed', noop, noop, signal);
  assert.ok((await readWhole(user, '/repo/changed')).equals(after));
});
