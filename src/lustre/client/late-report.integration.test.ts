// A writer's size report that was on its way while another client truncated: it does not regrow the file with zeros.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestCluster } from '../../../test/lustre/test-cluster.ts';
import { O_WRONLY } from '../mds/handles.ts';
import { ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../types.ts';
import { connectLustre } from './lustre-client.ts';
import { MdsSession } from './mds-session.ts';

test('a release reporting writes made before another client’s truncate leaves the truncated size', async (t) => {
  const cluster = await startTestCluster({ localHost: 'h', ossCount: 2, ostCapacityBytes: 2 ** 28 });
  t.after(() => cluster.close());
  const mdt = (await cluster.config()).mdt;
  // The writer: an MDS session and direct OST writes, whose release is already sent when the truncate lands.
  const writer = new MdsSession({
    address: mdt.address,
    fsname: cluster.fsname,
    clientId: 'writer',
    host: 'h',
  });
  t.after(() => writer.close());
  const created = await writer.mutate('create', {
    cred: ROOT,
    parent: ROOT_INO,
    name: 'f',
    mode: 0o644,
    exclusive: true,
    open: true,
    flags: O_WRONLY,
  });
  const ino = created.attr.ino;
  const { client: oss, target } = await cluster.ossFor(created.layout.osts[0]!);
  t.after(() => oss.close());
  await oss.write({ target, object: `${ino}.0`, offset: 0 }, Buffer.alloc(5000, 7));

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
  await writer.mutate('release', { handle: created.handle!, end: 5000 });
  assert.equal((await truncater.getattr(ino)).size, 0, 'the file stays truncated');

  // A write the same writer makes after the truncate still counts (the MDS reads the objects).
  const again = await writer.mutate('open', { cred: ROOT, ino, flags: O_WRONLY });
  await truncater.setattr(ROOT, ino, { size: 0 });
  await oss.write({ target, object: `${ino}.0`, offset: 100 }, Buffer.alloc(10, 8));
  await writer.mutate('release', { handle: again.handle, end: 5000 });
  assert.equal((await truncater.getattr(ino)).size, 110, 'the size is where the objects end');
});
