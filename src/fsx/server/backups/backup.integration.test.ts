// The whole FSx path over real MGS, MDS and OSS servers and the striped client: create, write, grow, back up, restore, compare, delete.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  CreateBackupCommand,
  CreateFileSystemCommand,
  CreateFileSystemFromBackupCommand,
  DeleteBackupCommand,
  DeleteFileSystemCommand,
  DescribeBackupsCommand,
  DescribeFileSystemsCommand,
  type FileSystem,
  FileSystemNotFound,
  type FSxClient,
  UpdateFileSystemCommand,
} from '@aws-sdk/client-fsx';
import {
  ACCESS_KEY,
  ACCOUNT,
  REGION,
  SECRET_KEY,
  SUBNET,
  sdkClient,
  waitFor,
} from '../../../../test/fsx/harness.ts';
import { buildSampleTree, dumpTree, overwrite } from '../../../../test/fsx/tree.ts';
import { connectLustre, type LustreClient } from '../../../lustre/client/index.ts';
import {
  type InProcessServer,
  inProcessLauncher,
  startFileSystemServers,
} from '../../../lustre/cluster/servers.ts';
import { MgsClient } from '../../../lustre/protocol/mgs-client.ts';
import { ROOT_CREDENTIALS, ROOT_INO } from '../../../lustre/types.ts';
import { type FsxApi, MgsTargetAllocator, startFsxApi } from '../fsx-server.ts';

const { O_WRONLY, O_CREAT } = constants;

const MiB = 1024 * 1024;
let dir: string;
let mgs: InProcessServer;
/** Every server started, in start order (the MGS first). */
const servers: InProcessServer[] = [];
let allocator: MgsTargetAllocator;
let api: FsxApi;
let fsx: FSxClient;
const clients: LustreClient[] = [];

function connect(fsname: string, signal?: AbortSignal): Promise<LustreClient> {
  return connectLustre({ mgsAddress: mgs.address, fsname, host: 'test-host', ...(signal && { signal }) });
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'nacre-fsx-backup-'));
  ({ mgs } = await startFileSystemServers(
    {
      dataDir: dir,
      ossCount: 2,
      host: (name) => `host-${name}`,
      ossCapacityBytes: 16 * 1024 * MiB,
    },
    inProcessLauncher({
      tuning: { registerIntervalMs: 200, pollMs: 100 },
      started: (server) => servers.push(server),
    }),
  ));
  const mgsClient = new MgsClient({ address: mgs.address });
  await waitFor('servers registered', async () => {
    const s = await mgsClient.listServers();
    return s.filter((x) => x.role === 'oss').length === 2 && s.some((x) => x.role === 'mds')
      ? true
      : undefined;
  });
  mgsClient.close();
  allocator = new MgsTargetAllocator(mgs.address, { timeoutMs: 30_000 });
  api = await startFsxApi({
    dataDir: path.join(dir, 'api'),
    listen: { host: '127.0.0.1', port: 0 },
    region: REGION,
    accountId: ACCOUNT,
    credentials: { [ACCESS_KEY]: SECRET_KEY },
    mgs: allocator,
    mountHost: mgs.address,
    connectClient: (fsname, signal) => connect(fsname, signal),
  });
  fsx = sdkClient(api.endpoint);
});

after(async () => {
  for (const c of clients) await c.close();
  fsx.destroy();
  await api.close();
  allocator.close();
  for (const s of servers.reverse()) await s.close();
  await rm(dir, { recursive: true, force: true });
});

async function describeOne(id: string): Promise<FileSystem> {
  return (await fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: [id] }))).FileSystems![0]!;
}

async function untilAvailable(
  id: string,
  check: (fs: FileSystem) => boolean = () => true,
): Promise<FileSystem> {
  return waitFor(
    `${id} AVAILABLE`,
    async () => {
      const d = await describeOne(id);
      if (d.Lifecycle === 'FAILED') throw new Error(`${id} FAILED: ${d.FailureDetails?.Message}`);
      return d.Lifecycle === 'AVAILABLE' && check(d) ? d : undefined;
    },
    60_000,
  );
}

async function backupAvailable(id: string) {
  return waitFor(
    `${id} AVAILABLE`,
    async () => {
      const b = (await fsx.send(new DescribeBackupsCommand({ BackupIds: [id] }))).Backups![0]!;
      if (b.Lifecycle === 'FAILED') throw new Error(`backup failed: ${b.FailureDetails?.Message}`);
      return b.Lifecycle === 'AVAILABLE' ? b : undefined;
    },
    60_000,
  );
}

async function chunkCount(): Promise<number> {
  const chunks = path.join(dir, 'api', 'backups', 'chunks');
  let n = 0;
  for (const d of await readdir(chunks)) n += (await readdir(path.join(chunks, d))).length;
  return n;
}

test('data written through the client survives growth, backup and restore into an identical tree', async () => {
  const { FileSystem: created } = await fsx.send(
    new CreateFileSystemCommand({
      FileSystemType: 'LUSTRE',
      StorageCapacity: 2400,
      SubnetIds: [SUBNET],
      LustreConfiguration: { DeploymentType: 'PERSISTENT_2', PerUnitStorageThroughput: 125 },
    }),
  );
  const fs = await untilAvailable(created!.FileSystemId!);
  const source = await connect(fs.LustreConfiguration!.MountName!);
  clients.push(source);
  const { big } = await buildSampleTree(source);
  const tree = await dumpTree(source);
  assert.equal(tree['docs/deep/big.bin']!.size, 2.5 * MiB);

  await fsx.send(new UpdateFileSystemCommand({ FileSystemId: fs.FileSystemId, StorageCapacity: 4800 }));
  await untilAvailable(fs.FileSystemId!, (d) => d.StorageCapacity === 4800);
  const { handle } = await source.create(
    ROOT_CREDENTIALS,
    ROOT_INO,
    'after-growth',
    0o644,
    O_WRONLY | O_CREAT,
  );
  await source.write(handle, 0, randomBytes(3 * MiB));
  await source.release(handle);
  assert.deepEqual((await dumpTree(source))['docs/deep/big.bin'], tree['docs/deep/big.bin']);

  const first = (await fsx.send(new CreateBackupCommand({ FileSystemId: fs.FileSystemId }))).Backup!;
  await backupAvailable(first.BackupId!);
  const afterFirst = await chunkCount();
  await overwrite(source, big, 0, Buffer.from('changed after the first backup'));
  const second = (await fsx.send(new CreateBackupCommand({ FileSystemId: fs.FileSystemId }))).Backup!;
  const done = await backupAvailable(second.BackupId!);
  assert.equal(await chunkCount(), afterFirst + 1);
  assert.ok(done.SizeInBytes! >= 5.5 * MiB);

  const want = await dumpTree(source);
  const restored = (
    await fsx.send(new CreateFileSystemFromBackupCommand({ BackupId: second.BackupId, SubnetIds: [SUBNET] }))
  ).FileSystem!;
  const ready = await untilAvailable(restored.FileSystemId!);
  const copy = await connect(ready.LustreConfiguration!.MountName!);
  clients.push(copy);
  const got = await dumpTree(copy);
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
  for (const p of Object.keys(want)) assert.deepEqual(got[p], want[p], p);
  for (const p of Object.keys(want)) {
    const [a, b] = await Promise.all([source.resolvePath(`/${p}`), copy.resolvePath(`/${p}`)]);
    assert.equal(b.ctimeMs, a.ctimeMs, `ctime of ${p} restored`);
  }

  for (const id of [fs.FileSystemId!, ready.FileSystemId!]) {
    await fsx.send(new DeleteFileSystemCommand({ FileSystemId: id }));
    await waitFor(
      `${id} deleted`,
      async () => {
        try {
          await describeOne(id);
          return undefined;
        } catch (err) {
          return err instanceof FileSystemNotFound ? true : undefined;
        }
      },
      60_000,
    );
  }
  for (const b of [first, second]) await fsx.send(new DeleteBackupCommand({ BackupId: b.BackupId }));
  assert.equal(await chunkCount(), 0);
});
