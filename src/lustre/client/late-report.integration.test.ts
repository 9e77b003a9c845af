// A writer's size report that was on its way while another client truncated: it does not regrow the file with zeros.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawWriter, startTestCluster } from '../../../test/lustre/test-cluster.ts';
import { O_WRONLY } from '../mds/handles.ts';
import { ROOT_CREDENTIALS as ROOT } from '../types.ts';
import { connectLustre } from './lustre-client.ts';

test('a release reporting writes made before another client’s truncate leaves the truncated size', async (t) => {
  const cluster = await startTestCluster({ localHost: 'h', ossCount: 2, ostCapacityBytes: 2 ** 28 });
  t.after(() => cluster.close());
  // The writer: an MDS session and direct OST writes, whose release is already sent when the truncate lands.
  const {
    session: writer,
    ino,
    handle,
    oss,
    target,
  } = await rawWriter(cluster, 'writer', 'f', Buffer.alloc(5000, 7));
  t.after(() => writer.close());

  const truncater = await connectLustre({
    mgsAddress: cluster.mgsAddress,
    fsname: cluster.fsname,
    host: 'h',
    clientId: 'truncater',
  });
  t.after(() => truncater.close());
  assert.equal((await truncater.getattr(ino)).size, 5000, 'the writer’s bytes are seen (glimpse)');
  await truncater.setattr(ROOT, ino, { size: 0 });

  // The release that reports the end of the writes made before the truncate arrives now.
  await writer.mutate('release', { handle, end: 5000 });
  assert.equal((await truncater.getattr(ino)).size, 0, 'the file stays truncated');

  // A write the same writer makes after the truncate still counts (the MDS reads the objects).
  const again = await writer.mutate('open', { cred: ROOT, ino, flags: O_WRONLY });
  await truncater.setattr(ROOT, ino, { size: 0 });
  await oss.write({ target, object: `${ino}.0`, offset: 100 }, Buffer.alloc(10, 8));
  await writer.mutate('release', { handle: again.handle, end: 5000 });
  assert.equal((await truncater.getattr(ino)).size, 110, 'the size is where the objects end');
});
