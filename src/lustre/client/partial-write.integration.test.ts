// A write that failed on one stripe after others took it: the file's size is the same whether or not the writer still has it open.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestCluster } from '../../../test/lustre/test-cluster.ts';
import { ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../types.ts';
import { setstripePath } from './lfs.ts';
import { connectLustre } from './lustre-client.ts';

const MiB = 1 << 20;
const O_RDWR = 2;

test('after a partial write, readers see one size before and after the writer closes', async (t) => {
  const cluster = await startTestCluster({ localHost: 'h', ossCount: 2, ostCapacityBytes: 2 ** 28 });
  t.after(() => cluster.close());
  const mount = (clientId: string) =>
    connectLustre({ mgsAddress: cluster.mgsAddress, fsname: cluster.fsname, host: 'h', clientId });
  const writer = await mount('writer');
  t.after(() => writer.close());
  const reader = await mount('reader');
  t.after(() => reader.close());
  await writer.mkdir(ROOT, ROOT_INO, 'd', 0o755);
  await setstripePath(writer, '/d', { stripeCount: 2, stripeSize: MiB, stripeOffset: 0 });
  const { attr, handle } = await writer.create(
    ROOT,
    (await writer.resolvePath('/d')).ino,
    'f',
    0o644,
    O_RDWR,
  );
  const layout = (await writer.getstripe(attr.ino)).layout!;

  // Stripe 1's server is away: of a 3 MiB write, stripe 0 takes [0, 1) and [2, 3) MiB, stripe 1 fails.
  await cluster.stopOssOf(layout.osts[1]!);
  await assert.rejects(writer.write(handle, 0, Buffer.alloc(3 * MiB, 1)), { code: 'EIO' });
  await cluster.restartOssOf(layout.osts[1]!);

  const whileOpen = (await reader.getattr(attr.ino)).size;
  await writer.release(handle);
  const afterClose = (await reader.getattr(attr.ino)).size;
  assert.equal(afterClose, whileOpen, 'the same size with and without the writer’s handle open');
  assert.equal(afterClose, 3 * MiB, 'the bytes stripe 0 holds count');
});
