// A writer that dies before close or fsync: other clients see its size while its handle lives, and the file keeps it after the MDS evicts the writer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestCluster } from '../../../test/lustre/test-cluster.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { O_WRONLY } from '../mds/handles.ts';
import { ROOT_CREDENTIALS, ROOT_INO } from '../types.ts';
import { connectLustre } from './lustre-client.ts';
import { MdsSession } from './mds-session.ts';

test('an evicted writer’s unreported writes are found on the OSTs: the file keeps the size its objects have', async (t) => {
  const cluster = await startTestCluster({
    localHost: 'h',
    ossCount: 2,
    ostCapacityBytes: 2 ** 28,
    graceMs: 1_000,
  });
  t.after(() => cluster.close());
  const mdt = (await cluster.config()).mdt;
  // The writer: an MDS session and direct OST writes, as a client whose process then dies (no release).
  const writer = new MdsSession({
    address: mdt.address,
    fsname: cluster.fsname,
    clientId: 'doomed-writer',
    host: 'h',
  });
  const created = await writer.mutate('create', {
    cred: ROOT_CREDENTIALS,
    parent: ROOT_INO,
    name: 'unreported',
    mode: 0o644,
    exclusive: true,
    open: true,
    flags: O_WRONLY,
  });
  const ino = created.attr.ino;
  const { client: oss, target } = await cluster.ossFor(created.layout.osts[0]!);
  await oss.write({ target, object: `${ino}.0`, offset: 0 }, Buffer.alloc(5000, 7));
  oss.close();

  const reader = await connectLustre({
    mgsAddress: cluster.mgsAddress,
    fsname: cluster.fsname,
    host: 'h',
    clientId: 'reader',
  });
  t.after(() => reader.close());
  assert.equal((await reader.getattr(ino)).size, 5000, 'while the writer lives, readers glimpse the OSTs');

  writer.close(); // the writer's mount dies: no release, no size report
  // Wait (with a deadline) until the MDS has evicted it: its handle is gone, so getattr no longer says sizeOnOsts.
  const raw = new MdsSession({
    address: mdt.address,
    fsname: cluster.fsname,
    clientId: 'observer',
    host: 'h',
  });
  t.after(() => raw.close());
  const attr = await waitFor(
    'the MDS to evict the dead writer',
    async () => {
      const a = await raw.call('getattr', { ino });
      return a.sizeOnOsts ? undefined : a;
    },
    15_000,
  );
  assert.equal(attr.size, 5000, 'the MDS took the size from the OSTs when it evicted the writer');
  assert.equal((await reader.getattr(ino)).size, 5000);
});
