// The FSx API of the emulator driven by the AWS SDK, and what it creates mounted with `nacre mount`
// from the DNSName and MountName it returns: create, write, grow, back up, restore, delete.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  CreateBackupCommand,
  CreateFileSystemCommand,
  CreateFileSystemFromBackupCommand,
  DeleteFileSystemCommand,
  DescribeBackupsCommand,
  DescribeFileSystemsCommand,
  type FileSystem,
  FileSystemNotFound,
  FSxClient,
  UpdateFileSystemCommand,
} from '@aws-sdk/client-fsx';
import { waitFor } from '../../src/lib/wait-for.ts';
import { type FsCluster, useFsCluster } from './fs-cluster.ts';
import { sh } from './shell.ts';

const keys = { accessKeyId: 'AKIAE2ETESTKEY000001', secretAccessKey: 'e2e-secret-key-not-for-anything-else' };
let fs: FsCluster;
let fsx: FSxClient;

const t = useFsCluster({ fsname: 'base', mounts: [] });
before(async () => {
  await t.ready;
  fs = t.cluster;
  const api = await fs.startServer('api', ['--role', 'api', '--mgs', fs.mgs.address], {
    ...process.env,
    NACRE_FSX_ACCESS_KEY_ID: keys.accessKeyId,
    NACRE_FSX_SECRET_ACCESS_KEY: keys.secretAccessKey,
  });
  fsx = new FSxClient({
    endpoint: `http://${api.address}`,
    region: 'us-east-1',
    credentials: keys,
    maxAttempts: 1,
  });
});
after(() => fsx?.destroy());

async function describe(id: string): Promise<FileSystem> {
  const out = await fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: [id] }));
  return out.FileSystems![0]!;
}

const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000) =>
  waitFor(what, probe, { timeoutMs, intervalMs: 200 });

const available = (id: string) =>
  until(`${id} AVAILABLE`, async () => {
    const f = await describe(id);
    assert.notEqual(f.Lifecycle, 'FAILED', f.FailureDetails?.Message);
    return f.Lifecycle === 'AVAILABLE' ? f : undefined;
  });

test('an FSx file system is created, mounted from its DNSName and MountName, grown, backed up, restored and deleted', async () => {
  const created = await fsx.send(
    new CreateFileSystemCommand({
      FileSystemType: 'LUSTRE',
      StorageCapacity: 2400,
      SubnetIds: ['subnet-0123456789abcdef0'],
      LustreConfiguration: { DeploymentType: 'PERSISTENT_2', PerUnitStorageThroughput: 125 },
      ClientRequestToken: 'e2e-create-1',
    }),
  );
  const id = created.FileSystem!.FileSystemId!;
  assert.match(id, /^fs-[0-9a-f]{17}$/);
  const fsDesc = await available(id);
  const source = `${fsDesc.DNSName}@tcp:/${fsDesc.LustreConfiguration!.MountName}`;
  const m = (await fs.mount('fsx', { source })).point;
  await sh(
    `mkdir ${m}/d && dd if=/dev/urandom of=${m}/d/data bs=1M count=6 status=none && ln -s d/data ${m}/link`,
  );
  const sum = await sh(`sha256sum < ${m}/d/data`);
  const dfSize = async () => Number(await sh(`df -B1 --output=size ${m} | tail -1`));
  const sizeBefore = await dfSize();

  await fsx.send(new UpdateFileSystemCommand({ FileSystemId: id, StorageCapacity: 4800 }));
  const grown = await available(id);
  assert.equal(grown.StorageCapacity, 4800);
  // The client re-reads the OST list at most every 2 s: df shows the new OSTs within that.
  await until('df on the mount shows the doubled capacity', async () =>
    (await dfSize()) >= sizeBefore * 1.9 ? true : undefined,
  );
  await sh(
    `dd if=/dev/urandom of=${m}/after-growth bs=1M count=2 status=none && cat ${m}/after-growth > /dev/null`,
  );

  const backup = await fsx.send(
    new CreateBackupCommand({ FileSystemId: id, ClientRequestToken: 'e2e-backup-1' }),
  );
  const backupId = backup.Backup!.BackupId!;
  await until('backup AVAILABLE', async () => {
    const b = (await fsx.send(new DescribeBackupsCommand({ BackupIds: [backupId] }))).Backups![0]!;
    assert.notEqual(b.Lifecycle, 'FAILED', b.FailureDetails?.Message);
    return b.Lifecycle === 'AVAILABLE' ? b : undefined;
  });

  const restored = await fsx.send(
    new CreateFileSystemFromBackupCommand({
      BackupId: backupId,
      SubnetIds: ['subnet-0123456789abcdef0'],
      StorageCapacity: 4800,
      LustreConfiguration: { DeploymentType: 'PERSISTENT_2', PerUnitStorageThroughput: 125 },
    }),
  );
  const restoredDesc = await available(restored.FileSystem!.FileSystemId!);
  const r = (
    await fs.mount('restored', {
      source: `${restoredDesc.DNSName}@tcp:/${restoredDesc.LustreConfiguration!.MountName}`,
    })
  ).point;
  assert.equal(await sh(`sha256sum < ${r}/d/data`), sum);
  assert.equal(await sh(`readlink ${r}/link`), 'd/data\n');

  await fsx.send(
    new DeleteFileSystemCommand({ FileSystemId: id, LustreConfiguration: { SkipFinalBackup: true } }),
  );
  await until('file system deleted', async () => {
    try {
      await describe(id);
      return undefined;
    } catch (err) {
      return err instanceof FileSystemNotFound ? true : undefined;
    }
  });
});
