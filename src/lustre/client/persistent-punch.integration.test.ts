// PERSISTENT: the MDS finishing a truncate its client never punched counts a mirror copy that is down as stale, so old bytes come back from neither copy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mdsSession, startTestCluster } from '../../../test/lustre/test-cluster.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../types.ts';
import { connectLustre } from './lustre-client.ts';

const O_RDWR = 2;
const O_WRONLY = 1;
const O_APPEND = 0o2000;
const MiB = 1 << 20;

test('an unfinished truncate under an appender, with one mirror copy down: neither copy shows the old bytes after', async (t) => {
  const p = await startTestCluster({ fsname: 'ppun', ossCount: 2, ostCapacityBytes: 256 * MiB, replicas: 2 });
  t.after(() => p.close());
  const c = await connectLustre({
    mgsAddress: p.mgsAddress,
    fsname: 'ppun',
    host: 'h',
    clientId: 'appender',
  });
  t.after(() => c.close());
  const { attr, handle } = await c.create(ROOT, ROOT_INO, 'f', 0o644, O_RDWR);
  await c.write(handle, 0, Buffer.alloc(MiB, 'X'));
  await c.release(handle);
  const layout = (await c.getstripe(attr.ino)).layout!;
  const appender = await c.open(ROOT, attr.ino, O_WRONLY | O_APPEND);

  // Another client records a truncate to 10 bytes and dies before punching the objects.
  const crasher = await mdsSession(p, 'crasher');
  await crasher.mutate('setattr', { cred: ROOT, ino: attr.ino, changes: { size: 10 } });
  crasher.close();

  await p.stopOssOf(layout.mirrors![0]!);
  // The append needs the punch done first; the MDS cuts the primary and records the mirror stale.
  await c.write(appender, 0, Buffer.from('Y'));
  await c.release(appender);
  assert.equal((await c.getattr(attr.ino)).size, 11);

  await p.restartOssOf(layout.mirrors![0]!);
  await waitFor('the stale mirror copy to be resynced', () => p.staleCount() === 0, 30_000);
  // Now read from the mirror alone.
  await p.stopOssOf(layout.osts[0]!);
  const r = await c.open(ROOT, attr.ino, O_RDWR);
  assert.equal((await c.read(r, 0, 2 * MiB)).toString(), `${'X'.repeat(10)}Y`);
  await c.release(r);
});
