// LustreClient.close() against an MDS that is gone or hung returns within its bound and leaves no connection or call behind.
import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, beforeEach, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../../../test/lustre/test-cluster.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../types.ts';
import { cachingClient } from './data-locks.ts';
import { connectLustre, type LustreClient } from './lustre-client.ts';
import { metaCachingClient } from './meta-locks.ts';

const O_RDWR = 2;
const LOCAL = 'client-host';
/** close() gives the MDS 2 s to take handles and locks back; the rest is slack for a loaded machine. */
const BOUND_MS = 3_000;

let cluster: TestCluster;

beforeEach(async () => {
  cluster = await startTestCluster({ localHost: LOCAL, ossCount: 1 });
});
afterEach(async () => {
  await cluster?.close();
});

/** A mount's client (data and metadata caching, as fuse-serve makes it) holding cache locks and a written, open file. */
async function busyClient(): Promise<LustreClient> {
  const lustre = await connectLustre({
    mgsAddress: cluster.mgsAddress,
    fsname: cluster.fsname,
    host: LOCAL,
    clientId: 'closing',
    timeoutMs: 10_000,
    retryDeadlineMs: 30_000,
    recoveryMs: 30_000,
  });
  const fs = metaCachingClient(cachingClient(lustre), lustre);
  const dir = await fs.mkdir(ROOT, ROOT_INO, 'd', 0o755);
  const { attr, handle } = await fs.create(ROOT, dir.ino, 'f', 0o644, O_RDWR);
  await fs.write(handle, 0, Buffer.from('hello'));
  await fs.read(handle, 0, 5);
  await fs.lookup(ROOT, dir.ino, 'f');
  await fs.getattr(attr.ino);
  assert.ok((lustre.locks?.held().length ?? 0) > 0, 'the client holds cache locks');
  return lustre;
}

async function timedClose(lustre: LustreClient): Promise<void> {
  const t0 = performance.now();
  await lustre.close();
  const ms = performance.now() - t0;
  assert.ok(ms < BOUND_MS, `close() took ${Math.round(ms)} ms`);
}

test('close() with the MDS and the OSS stopped returns within its bound; no MDS call is left retrying', async () => {
  const lustre = await busyClient();
  await cluster.stopMds();
  await cluster.stopOssOf(0);
  // A call of the client's own, with no deadline but the retry deadline (30 s), is waiting for the MDS.
  const background = lustre.mds.call('getattr', { ino: ROOT_INO });
  await waitFor('the call to find the MDS gone', async () => lustre.mds.waiting === 1, 5_000);
  await timedClose(lustre);
  const t0 = performance.now();
  await assert.rejects(background, { code: 'EIO' });
  const ms = performance.now() - t0;
  assert.ok(ms < 1_000, `the call still retried ${Math.round(ms)} ms after close()`);
  assert.equal(lustre.mds.waiting, 0);
});

test('close() with the MDS hung (connections accepted, never answered) returns within its bound and drops the connection', async () => {
  const lustre = await busyClient();
  const address = lustre.mds.address;
  await cluster.stopMds();
  const sockets: net.Socket[] = [];
  const hung = net.createServer((s) => sockets.push(s.on('error', () => undefined).resume()));
  await new Promise<void>((r) => hung.listen(Number(address.split(':')[1]), '127.0.0.1', r));
  try {
    await waitFor('the client to connect to the hung MDS', async () => sockets.length > 0, 10_000);
    await timedClose(lustre);
    await waitFor(
      'every connection to the hung MDS to close',
      async () => sockets.every((s) => s.destroyed || s.readableEnded),
      1_000,
    );
  } finally {
    for (const s of sockets) s.destroy();
    hung.close();
  }
});
