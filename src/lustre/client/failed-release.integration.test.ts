// A release that cannot reach the MDS: the writer's own mount still reports the size of its writes afterwards.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestCluster } from '../../../test/lustre/test-cluster.ts';
import { ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../types.ts';
import { connectLustre } from './lustre-client.ts';

test('after a release that failed (MDS away past its deadline), the writer’s getattr still gives the size it wrote', async (t) => {
  const cluster = await startTestCluster({ localHost: 'h', ossCount: 2, ostCapacityBytes: 2 ** 28 });
  t.after(() => cluster.close());
  const writer = await connectLustre({
    mgsAddress: cluster.mgsAddress,
    fsname: cluster.fsname,
    host: 'h',
    clientId: 'writer',
  });
  t.after(() => writer.close());
  const { attr, handle } = await writer.create(ROOT, ROOT_INO, 'f', 0o644, 2 /* O_RDWR */);
  await writer.write(handle, 0, Buffer.alloc(5000, 1));

  await cluster.stopMds();
  // The MDS stays away longer than the release may wait (a short deadline stands in for the 60 s one).
  await assert.rejects(writer.release(handle, AbortSignal.timeout(200)), { code: 'EINTR' });
  await cluster.startMds();
  assert.equal(
    (await writer.getattr(attr.ino)).size,
    5000,
    'the failed release did not take the size with it',
  );
});
