// An open of a file whose truncate was never cut: the cut is the MDS's, done before it answers, never handed to an opener that would cut outside the data locks' order.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mdsSession, startTestCluster, type TestCluster } from '../../../test/lustre/test-cluster.ts';
import { ldlmSettings } from '../mds/ldlm-service.ts';
import { ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../types.ts';
import { lockingWritesClient } from './data-locks.ts';
import { connectLustre, type LustreClient } from './lustre-client.ts';

const O_WRONLY = 0o1;

let cluster: TestCluster;
const clients: LustreClient[] = [];
const savedTimeout = ldlmSettings.callbackTimeoutMs;

before(async () => {
  // The dead truncating client's lock goes at its eviction, after a missed callback.
  ldlmSettings.callbackTimeoutMs = 500;
  cluster = await startTestCluster({ localHost: 'h', ossCount: 1, graceMs: 1_000 });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cluster?.close();
  ldlmSettings.callbackTimeoutMs = savedTimeout;
});

async function connect(clientId: string): Promise<LustreClient> {
  const c = await connectLustre({
    mgsAddress: cluster.mgsAddress,
    fsname: cluster.fsname,
    host: 'h',
    clientId,
  });
  clients.push(c);
  return c;
}

test('a slow opener of a file with an unfinished truncate does not cut what a writer wrote after its open', async (t) => {
  const other = await connect('o-other');
  const writer = lockingWritesClient(await connect('o-writer'));
  const f = await other.create(ROOT, ROOT_INO, 'f', 0o644, O_WRONLY);
  await other.write(f.handle, 0, Buffer.from('old bytes'));
  await other.release(f.handle);
  const ino = f.attr.ino;
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
  const h = await other.open(ROOT, ino, 0);
  const text = (await other.read(h, 0, 100)).toString();
  await other.release(h);
  assert.equal(text, 'new', 'a cut handed to an opener was made after a later write');
});
