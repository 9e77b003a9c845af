// A writer that dies before close or fsync: other clients see its size while its handle lives, and the file keeps it after the MDS evicts the writer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mdsSession, rawWriter, startTestCluster } from '../../../test/lustre/test-cluster.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { connectLustre } from './lustre-client.ts';

test('an evicted writer’s unreported writes are found on the OSTs: the file keeps the size its objects have', async (t) => {
  const cluster = await startTestCluster({
    localHost: 'h',
    ossCount: 2,
    ostCapacityBytes: 2 ** 28,
    graceMs: 1_000,
  });
  t.after(() => cluster.close());
  // The writer: an MDS session and direct OST writes, as a client whose process then dies (no release).
  const { session: writer, ino } = await rawWriter(
    cluster,
    'doomed-writer',
    'unreported',
    Buffer.alloc(5000, 7),
  );

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
  const raw = await mdsSession(cluster, 'observer');
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
