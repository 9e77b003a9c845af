// A writer idle across an MDS restart: it reconnects by itself within the grace period, so its later writes keep their size.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestCluster } from '../../../test/lustre/test-cluster.ts';
import { waitWithin } from '../../lib/wait-for.ts';
import { ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../types.ts';
import { connectLustre } from './lustre-client.ts';
import { MdsSession } from './mds-session.ts';

// Longer than the session's 2 s keep-alive (mds-session.ts), as the default 30 s is.
const GRACE_MS = 3_000;

test('a writer that makes no MDS call while the MDS restarts keeps its handle: writes after the restart keep their size', async (t) => {
  const cluster = await startTestCluster({
    localHost: 'h',
    ossCount: 2,
    ostCapacityBytes: 2 ** 28,
    graceMs: GRACE_MS,
  });
  t.after(() => cluster.close());
  const mount = (clientId: string) =>
    connectLustre({ mgsAddress: cluster.mgsAddress, fsname: cluster.fsname, host: 'h', clientId });
  const writer = await mount('idle-writer');
  t.after(() => writer.close());
  const { attr, handle } = await writer.create(ROOT, ROOT_INO, 'log', 0o644, 2 /* O_RDWR */);
  await writer.write(handle, 0, Buffer.alloc(5000, 1));

  await cluster.stopMds();
  await cluster.startMds();
  const observer = new MdsSession({
    address: (await cluster.config()).mdt.address,
    fsname: cluster.fsname,
    clientId: 'observer',
    host: 'h',
  });
  t.after(() => observer.close());
  // The MDS evicts clients that do not reconnect within its grace period. Wait until it has evicted
  // the writer (its handle gone: getattr no longer says sizeOnOsts) or until three grace periods
  // have passed without that.
  await waitWithin(
    'the MDS to evict the writer',
    async () => !(await observer.call('getattr', { ino: attr.ino })).sizeOnOsts,
    { timeoutMs: 3 * GRACE_MS },
  );

  // The application goes on writing and closes the file: close(2) has returned, nothing failed.
  await writer.write(handle, 5000, Buffer.alloc(4000, 2));
  await writer.release(handle).catch(() => undefined); // FUSE release errors never reach the application
  assert.equal(
    (await observer.call('getattr', { ino: attr.ino })).size,
    9000,
    'the size of every acknowledged write',
  );
  assert.equal((await writer.getattr(attr.ino)).size, 9000, 'and the writer’s own mount agrees');
});
