import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  CreateFileSystemCommand,
  type CreateFileSystemCommandInput,
  DeleteFileSystemCommand,
  DescribeFileSystemsCommand,
  type FileSystem,
  FileSystemNotFound,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UpdateFileSystemCommand,
} from '@aws-sdk/client-fsx';
import { type Harness, SUBNET, startHarness, waitFor } from '../../../test/fsx/harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const input: CreateFileSystemCommandInput = {
  FileSystemType: 'LUSTRE',
  StorageCapacity: 2400,
  SubnetIds: [SUBNET],
  LustreConfiguration: { DeploymentType: 'PERSISTENT_2', PerUnitStorageThroughput: 125 },
};

async function describeOne(id: string): Promise<FileSystem> {
  return (await h.fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: [id] }))).FileSystems![0]!;
}

const until = (id: string, ok: (fs: FileSystem) => boolean) =>
  waitFor(`${id} state`, async () => {
    const fs = await describeOne(id);
    return ok(fs) ? fs : undefined;
  });

test('file systems, tags and request tokens survive a restart of the API', async () => {
  const { FileSystem: fs } = await h.fsx.send(
    new CreateFileSystemCommand({ ...input, ClientRequestToken: 'persist-1' }),
  );
  const id = fs!.FileSystemId!;
  await until(id, (f) => f.Lifecycle === 'AVAILABLE');
  await h.fsx.send(
    new TagResourceCommand({ ResourceARN: fs!.ResourceARN, Tags: [{ Key: 'kept', Value: 'yes' }] }),
  );
  const before = await describeOne(id);
  await h.restart();
  assert.deepEqual(await describeOne(id), before);
  assert.deepEqual(
    (await h.fsx.send(new ListTagsForResourceCommand({ ResourceARN: fs!.ResourceARN }))).Tags,
    [{ Key: 'kept', Value: 'yes' }],
  );
  const again = await h.fsx.send(new CreateFileSystemCommand({ ...input, ClientRequestToken: 'persist-1' }));
  assert.equal(again.FileSystem!.FileSystemId, id);
});

test('a file system CREATING when the API stops becomes AVAILABLE after it starts again', async () => {
  const release = h.allocator.hold();
  const { FileSystem: fs } = await h.fsx.send(new CreateFileSystemCommand(input));
  await waitFor('create call held', () =>
    h.allocator.calls.some((c) => c.startsWith(`create ${fs!.LustreConfiguration!.MountName}`))
      ? true
      : undefined,
  );
  await h.api.close();
  release();
  assert.equal(h.allocator.fileSystems.has(fs!.LustreConfiguration!.MountName!), false);
  await h.restart();
  const ready = await until(fs!.FileSystemId!, (f) => f.Lifecycle === 'AVAILABLE');
  assert.equal(h.allocator.fileSystems.get(ready.LustreConfiguration!.MountName!)!.osts.length, 2);
});

test('a capacity increase and a deletion in progress at a restart are finished after it', async () => {
  const a = (await h.fsx.send(new CreateFileSystemCommand(input))).FileSystem!;
  const b = (await h.fsx.send(new CreateFileSystemCommand(input))).FileSystem!;
  await until(a.FileSystemId!, (f) => f.Lifecycle === 'AVAILABLE');
  await until(b.FileSystemId!, (f) => f.Lifecycle === 'AVAILABLE');
  const release = h.allocator.hold();
  await h.fsx.send(new UpdateFileSystemCommand({ FileSystemId: a.FileSystemId, StorageCapacity: 4800 }));
  await h.fsx.send(new DeleteFileSystemCommand({ FileSystemId: b.FileSystemId }));
  await h.api.close();
  release();
  await h.restart();
  const grown = await until(
    a.FileSystemId!,
    (f) => f.StorageCapacity === 4800 && f.Lifecycle === 'AVAILABLE',
  );
  assert.equal(h.allocator.fileSystems.get(grown.LustreConfiguration!.MountName!)!.osts.length, 4);
  await waitFor('b deleted', async () => {
    try {
      await describeOne(b.FileSystemId!);
      return undefined;
    } catch (err) {
      return err instanceof FileSystemNotFound ? true : undefined;
    }
  });
  assert.equal(h.allocator.fileSystems.has(b.LustreConfiguration!.MountName!), false);
});
