// Unreported writes and truncates: bytes a writer put on the OSTs after a truncate survive its resend, the MDS's finishing of it (at a PW grant or an open) and its failed cut; bytes a truncate dropped stay dropped when its client dies.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  mdsSession,
  rawWriter,
  startTestCluster,
  type TestCluster,
} from '../../../test/lustre/test-cluster.ts';
import { FsError } from '../../lib/errors.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { ldlmSettings } from '../mds/ldlm-service.ts';
import { ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../types.ts';
import { lockingWritesClient } from './data-locks.ts';
import { connectLustre, type LustreClient } from './lustre-client.ts';

const O_WRONLY = 0o1;
const O_TRUNC = 0o1000;

let cluster: TestCluster;
const clients: LustreClient[] = [];
const savedTimeout = ldlmSettings.callbackTimeoutMs;

before(async () => {
  // A holder that does not answer a callback (a dead daemon) is evicted after this.
  ldlmSettings.callbackTimeoutMs = 500;
  // graceMs: a client that went away is evicted after a second.
  cluster = await startTestCluster({ localHost: 'h', ossCount: 2, graceMs: 1_000 });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cluster?.close();
  ldlmSettings.callbackTimeoutMs = savedTimeout;
});

async function connect(clientId: string, mountId?: string): Promise<LustreClient> {
  const c = await connectLustre({
    mgsAddress: cluster.mgsAddress,
    fsname: cluster.fsname,
    host: 'h',
    clientId,
    ...(mountId !== undefined && { mountId }),
  });
  clients.push(c);
  return c;
}

/** A file `name` holding `text`, written and closed by `c`: its inode. */
async function fileWith(c: LustreClient, name: string, text: string): Promise<number> {
  const f = await c.create(ROOT, ROOT_INO, name, 0o644, O_WRONLY);
  await c.write(f.handle, 0, Buffer.from(text));
  await c.release(f.handle);
  return f.attr.ino;
}

async function read(c: LustreClient, ino: number): Promise<string> {
  const h = await c.open(ROOT, ino, 0);
  try {
    return (await c.read(h, 0, 100)).toString();
  } finally {
    await c.release(h);
  }
}

test('a resent truncate keeps what a writer wrote after the first one and has not reported yet', async () => {
  const other = await connect('r-other');
  const writer = await connect('r-writer');
  // Two daemons of one keeper-held mount: the first truncated (objects cut, MDS told), its reply
  // never reached the kernel, which resends to the second.
  const dead = await connect('r-daemon-1', 'r-m');
  const next = await connect('r-daemon-2', 'r-m');
  const ino = await fileWith(other, 'resent', 'old bytes');
  await dead.setattr(ROOT, ino, { size: 0 }, undefined, { request: 5 });
  const w = await writer.open(ROOT, ino, O_WRONLY);
  await writer.write(w, 0, Buffer.from('new'));
  // The writer keeps the file open: its 3 bytes are on the OSTs, the MDS still says 0.
  await next.setattr(ROOT, ino, { size: 0 }, undefined, { request: 5 });
  await writer.release(w);
  assert.equal(await read(other, ino), 'new', 'the resend cut bytes written after the truncate it repeats');
});

test('a truncate whose client died before cutting the objects does not cut what another writer wrote after it', async () => {
  const other = await connect('p-other');
  // An uncached mount's client: its writes take a PW data lock, as every mount's do.
  const raw = await connect('p-writer');
  const writer = lockingWritesClient(raw);
  const ino = await fileWith(other, 'punched', 'old bytes');
  // The writer has the file open from before the truncate (so no open hands it the pending cut).
  const w = await writer.open(ROOT, ino, O_WRONLY);
  // The truncating client: takes PW as a mount does, truncates on the MDS, dies before it cuts.
  const dying = await mdsSession(cluster, 'p-dying');
  await dying.call('lockEnqueue', { ino, kind: 'data', mode: 'PW' });
  await dying.mutate('setattr', { cred: ROOT, ino, changes: { size: 0 } });
  // The writer's write waits for the dead client's lock (its eviction), then lands after the truncate.
  await writer.write(w, 0, Buffer.from('new'));
  await writer.release(w);
  assert.equal(await read(other, ino), 'new', 'the unfinished truncate was finished over a later write');
  dying.close();
});

test('a writer that truncated its own unreported bytes and died before cutting them: its eviction does not bring them back', async (t) => {
  const other = await connect('e-other');
  // Six bytes on the OSTs the MDS never heard of (size 0), then a truncate to 2; no cut, no close.
  const w = await rawWriter(cluster, 'e-dying', 'evicted', Buffer.from('abcdef'));
  t.after(() => w.session.close());
  await w.session.mutate('setattr', { cred: ROOT, ino: w.ino, changes: { size: 2, fh: w.handle } });
  // A witness: another file the writer has open for writing; once its handle is gone, the writer is evicted.
  const witness = await fileWith(other, 'witness', 'w');
  await w.session.mutate('open', { cred: ROOT, ino: witness, flags: O_WRONLY });
  const observer = await mdsSession(cluster, 'e-observer');
  t.after(() => observer.close());
  assert.equal((await observer.call('getattr', { ino: witness })).sizeOnOsts, true);
  w.session.close(); // the writer's mount dies: the MDS evicts it and reads its files' sizes from the OSTs
  await waitFor(
    'the MDS to evict the dead writer',
    async () => ((await observer.call('getattr', { ino: witness })).sizeOnOsts ? undefined : true),
    15_000,
  );
  assert.equal((await other.getattr(w.ino)).size, 2, 'the eviction grew the file over its truncate');
  assert.equal(await read(other, w.ino), 'ab');
});

test('a slow opener of a file with an unfinished truncate does not cut what a writer wrote after its open', async (t) => {
  const other = await connect('o-other');
  const writer = lockingWritesClient(await connect('o-writer'));
  const ino = await fileWith(other, 'opened', 'old bytes');
  // The truncating client takes PW as a mount does, truncates on the MDS and dies before it cuts.
  const dying = await mdsSession(cluster, 'o-dying');
  await dying.call('lockEnqueue', { ino, kind: 'data', mode: 'PW' });
  await dying.mutate('setattr', { cred: ROOT, ino, changes: { size: 0 } });
  dying.close();
  // A reader opens the file. Its mount is slow: what the reply asks of it happens only later.
  const reader = await mdsSession(cluster, 'o-reader');
  t.after(() => reader.close());
  const opened = await reader.mutate('open', { cred: ROOT, ino, flags: 0 });
  // Meanwhile a writer writes (its PW lock granted once the dead client is evicted) and closes.
  const w = await writer.open(ROOT, ino, O_WRONLY);
  await writer.write(w, 0, Buffer.from('new'));
  await writer.release(w);
  // The reader's mount now does what the open's reply asked: a client finishes a cut handed to
  // it (lustre-client.ts #finishPunch), to the larger of the cut and the size it was told.
  if (opened.punch !== undefined) {
    const { client: oss, target } = await cluster.ossFor(opened.layout!.osts[0]!);
    await oss.punch({ target, object: `${ino}.0`, size: Math.max(opened.punch, opened.attr.size) });
    await reader.call('punched', { ino, size: opened.punch });
  }
  assert.equal(opened.attr.size, 0);
  assert.equal(await read(other, ino), 'new', 'a cut handed to an opener was made after a later write');
});

for (const how of ['setattr', 'open O_TRUNC'] as const) {
  test(`a ${how} truncate whose cut failed (OST down) does not cut the same mount's later writes`, async () => {
    const other = await connect(`${how}-other`);
    // Its I/O to an OST that does not answer fails at once (recovery 0, the default).
    const writer = lockingWritesClient(await connect(`${how}-writer`));
    const ino = await fileWith(other, `failed-${how}`, 'old bytes');
    const w = await writer.open(ROOT, ino, O_WRONLY);
    await writer.write(w, 0, Buffer.from('x')); // the writer holds PW now, as a mount keeps it
    // The MDS applies the truncate (size 0, a cut pending); the writer cannot reach the OST to cut.
    const [ost] = (await other.getstripe(ino)).layout!.osts;
    await cluster.stopOssOf(ost!);
    const truncate =
      how === 'setattr' ? writer.setattr(ROOT, ino, { size: 0 }) : writer.open(ROOT, ino, O_WRONLY | O_TRUNC);
    await assert.rejects(truncate, (e: unknown) => e instanceof FsError && e.code === 'EIO');
    await cluster.restartOssOf(ost!);
    // The application goes on writing once the OST is back; the write is acknowledged.
    await writer.write(w, 0, Buffer.from('new'));
    await writer.release(w);
    assert.equal(await read(other, ino), 'new', 'the failed truncate was finished over a later write');
  });
}

test('a resent O_TRUNC create does not hand its unfinished cut to the resending daemon, which would make it after a later write', async (t) => {
  const other = await connect('c-other');
  const writer = lockingWritesClient(await connect('c-writer'));
  const ino = await fileWith(other, 'recreated', 'old bytes');
  const args = {
    cred: ROOT,
    parent: ROOT_INO,
    name: 'recreated',
    mode: 0o644,
    exclusive: false,
    open: true,
    flags: O_WRONLY | O_TRUNC,
    key: { mount: 'c-m', request: 3 },
  };
  // The first daemon's O_TRUNC create truncates on the MDS; the daemon dies before it cuts.
  const first = await mdsSession(cluster, 'c-daemon-1');
  await first.mutate('create', args);
  first.close();
  // The kernel resends it to the next daemon, which is slow to do what the reply asks.
  const next = await mdsSession(cluster, 'c-daemon-2');
  t.after(() => next.close());
  const resent = await next.mutate('create', args);
  assert.equal(resent.resent, true);
  // Meanwhile a writer writes and closes.
  const w = await writer.open(ROOT, ino, O_WRONLY);
  await writer.write(w, 0, Buffer.from('new'));
  await writer.release(w);
  // The next daemon now finishes a cut the reply handed it, as lustre-client.ts create does.
  if (resent.punch !== undefined) {
    const { client: oss, target } = await cluster.ossFor(resent.layout.osts[0]!);
    await oss.punch({ target, object: `${ino}.0`, size: Math.max(resent.punch, resent.attr.size) });
    await next.call('punched', { ino, size: resent.punch });
  }
  assert.equal(
    await read(other, ino),
    'new',
    'a cut handed to a resending daemon was made after a later write',
  );
});

test('an open of a file whose unfinished truncate the MDS must cut waits for an OSS that is restarting', async () => {
  const other = await connect('u-other');
  const ino = await fileWith(other, 'restarting', 'old bytes');
  const dying = await mdsSession(cluster, 'u-dying');
  await dying.mutate('setattr', { cred: ROOT, ino, changes: { size: 0 } });
  dying.close(); // truncated on the MDS, never cut
  const [ost] = (await other.getstripe(ino)).layout!.osts;
  await cluster.stopOssOf(ost!);
  const opening = other.open(ROOT, ino, 0);
  await cluster.restartOssOf(ost!);
  const h = await opening;
  assert.equal((await other.read(h, 0, 100)).toString(), '');
  await other.release(h);
});
