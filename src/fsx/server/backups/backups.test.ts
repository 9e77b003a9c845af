import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  BackupInProgress,
  BackupNotFound,
  BackupRestoring,
  BadRequest,
  CreateBackupCommand,
  CreateFileSystemCommand,
  type CreateFileSystemCommandInput,
  CreateFileSystemFromBackupCommand,
  DeleteBackupCommand,
  DeleteFileSystemCommand,
  DescribeBackupsCommand,
  DescribeFileSystemsCommand,
  type FileSystem,
  FileSystemNotFound,
  UnsupportedOperation,
} from '@aws-sdk/client-fsx';
import { rejectsWith } from '../../../../test/fsx/expect.ts';
import {
  ACCOUNT,
  type Harness,
  REGION,
  SUBNET,
  startHarness,
  waitFor,
} from '../../../../test/fsx/harness.ts';
import { buildSampleTree, dumpTree } from '../../../../test/fsx/tree.ts';
import { MemoryClient } from '../../../../test/lustre/memory-client.ts';
import type { FileSystemConfig } from '../../../lustre/protocol/mgs-messages.ts';
import { ROOT_CREDENTIALS, ROOT_INO } from '../../../lustre/types.ts';

const { O_WRONLY, O_CREAT } = constants;

/** One in-memory file system per MGS file system config: recreated targets start empty. */
const clients = new WeakMap<FileSystemConfig, MemoryClient>();
let h: Harness;
let gate: Promise<void> | undefined;

before(async () => {
  h = await startHarness({
    connectClient: async (fsname) => {
      await gate;
      const cfg = h.allocator.fileSystems.get(fsname);
      if (!cfg) throw new Error(`no file system ${fsname}`);
      return memoryOf(cfg);
    },
  });
});
after(() => h.close());

function memoryOf(cfg: FileSystemConfig): MemoryClient {
  const c = clients.get(cfg) ?? new MemoryClient();
  clients.set(cfg, c);
  return c;
}

function clientOf(fs: FileSystem): MemoryClient {
  return memoryOf(h.allocator.fileSystems.get(fs.LustreConfiguration!.MountName!)!);
}

const persistent: CreateFileSystemCommandInput = {
  FileSystemType: 'LUSTRE',
  StorageCapacity: 1200,
  SubnetIds: [SUBNET],
  Tags: [{ Key: 'team', Value: 'storage' }],
  LustreConfiguration: {
    DeploymentType: 'PERSISTENT_1',
    PerUnitStorageThroughput: 50,
    CopyTagsToBackups: true,
  },
};

async function available(input = persistent): Promise<FileSystem> {
  const { FileSystem: fs } = await h.fsx.send(new CreateFileSystemCommand(input));
  return waitFor('AVAILABLE', async () => {
    const d = (await h.fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: [fs!.FileSystemId!] })))
      .FileSystems![0]!;
    return d.Lifecycle === 'AVAILABLE' ? d : undefined;
  });
}

async function backupAvailable(backupId: string) {
  return waitFor(`${backupId} AVAILABLE`, async () => {
    const b = (await h.fsx.send(new DescribeBackupsCommand({ BackupIds: [backupId] }))).Backups![0]!;
    if (b.Lifecycle === 'FAILED') throw new Error(`backup failed: ${b.FailureDetails?.Message}`);
    return b.Lifecycle === 'AVAILABLE' ? b : undefined;
  });
}

async function chunkCount(): Promise<number> {
  const dir = path.join(h.dataDir, 'backups', 'chunks');
  let n = 0;
  for (const d of await readdir(dir)) n += (await readdir(path.join(dir, d))).length;
  return n;
}

test('a backup of a PERSISTENT file system becomes AVAILABLE, restores to an identical tree, and a second one is incremental', async () => {
  const fs = await available();
  await buildSampleTree(clientOf(fs));
  const { Backup: b } = await h.fsx.send(new CreateBackupCommand({ FileSystemId: fs.FileSystemId }));
  assert.match(b!.BackupId!, /^backup-[0-9a-f]{17}$/);
  assert.equal(b!.Lifecycle, 'CREATING');
  assert.equal(b!.Type, 'USER_INITIATED');
  assert.equal(b!.ResourceARN, `arn:aws:fsx:${REGION}:${ACCOUNT}:backup/${b!.BackupId}`);
  assert.equal(b!.FileSystem!.FileSystemId, fs.FileSystemId);
  assert.deepEqual(b!.Tags, [{ Key: 'team', Value: 'storage' }]);
  const done = await backupAvailable(b!.BackupId!);
  assert.equal(done.ProgressPercent, 100);
  assert.ok(done.SizeInBytes! >= 2.5 * 1024 * 1024);
  const chunks = await chunkCount();

  const second = (await h.fsx.send(new CreateBackupCommand({ FileSystemId: fs.FileSystemId }))).Backup!;
  await backupAvailable(second.BackupId!);
  assert.equal(await chunkCount(), chunks);

  const restored = (
    await h.fsx.send(
      new CreateFileSystemFromBackupCommand({ BackupId: second.BackupId, SubnetIds: [SUBNET] }),
    )
  ).FileSystem!;
  assert.equal(restored.Lifecycle, 'CREATING');
  assert.equal(restored.StorageCapacity, 1200);
  assert.equal(restored.LustreConfiguration!.DeploymentType, 'PERSISTENT_1');
  assert.notEqual(restored.LustreConfiguration!.MountName, fs.LustreConfiguration!.MountName);
  const ready = await waitFor('restored AVAILABLE', async () => {
    const d = (await h.fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: [restored.FileSystemId!] })))
      .FileSystems![0]!;
    if (d.Lifecycle === 'FAILED') throw new Error(d.FailureDetails?.Message);
    return d.Lifecycle === 'AVAILABLE' ? d : undefined;
  });
  assert.deepEqual(await dumpTree(clientOf(ready)), await dumpTree(clientOf(fs)));
});

test('CreateBackup refuses SCRATCH, missing and busy file systems', async () => {
  const scratch = await available({ ...persistent, LustreConfiguration: { DeploymentType: 'SCRATCH_2' } });
  await rejectsWith(
    h.fsx.send(new CreateBackupCommand({ FileSystemId: scratch.FileSystemId })),
    BadRequest,
    /SCRATCH_2/,
  );
  await rejectsWith(
    h.fsx.send(new CreateBackupCommand({ FileSystemId: 'fs-0123456789abcdef0' })),
    FileSystemNotFound,
  );
  const fs = await available();
  const { promise, resolve } = Promise.withResolvers<void>();
  gate = promise;
  try {
    const { Backup: b } = await h.fsx.send(new CreateBackupCommand({ FileSystemId: fs.FileSystemId }));
    await rejectsWith(
      h.fsx.send(new CreateBackupCommand({ FileSystemId: fs.FileSystemId })),
      BackupInProgress,
    );
    await rejectsWith(h.fsx.send(new DeleteBackupCommand({ BackupId: b!.BackupId })), BackupInProgress);
    await rejectsWith(
      h.fsx.send(new DeleteFileSystemCommand({ FileSystemId: fs.FileSystemId })),
      BadRequest,
      /backup/,
    );
    resolve();
    gate = undefined;
    await backupAvailable(b!.BackupId!);
  } finally {
    resolve();
    gate = undefined;
  }
});

test('DescribeBackups filters by file system and type, pages, and names missing backups', async () => {
  const fs = await available();
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const { Backup: b } = await h.fsx.send(
      new CreateBackupCommand({ FileSystemId: fs.FileSystemId, Tags: [{ Key: 'n', Value: String(i) }] }),
    );
    ids.push(b!.BackupId!);
    await backupAvailable(b!.BackupId!);
  }
  const filtered = await h.fsx.send(
    new DescribeBackupsCommand({
      Filters: [
        { Name: 'file-system-id', Values: [fs.FileSystemId!] },
        { Name: 'backup-type', Values: ['USER_INITIATED'] },
      ],
    }),
  );
  assert.deepEqual(
    filtered.Backups!.map((b) => b.BackupId),
    ids,
  );
  assert.deepEqual(filtered.Backups![2]!.Tags, [{ Key: 'n', Value: '2' }]);
  const none = await h.fsx.send(
    new DescribeBackupsCommand({ Filters: [{ Name: 'backup-type', Values: ['AUTOMATIC'] }] }),
  );
  assert.equal(none.Backups!.length, 0);
  const seen: string[] = [];
  let token: string | undefined;
  do {
    const page = await h.fsx.send(
      new DescribeBackupsCommand({
        Filters: [{ Name: 'file-system-id', Values: [fs.FileSystemId!] }],
        MaxResults: 2,
        NextToken: token,
      }),
    );
    seen.push(...page.Backups!.map((b) => b.BackupId!));
    token = page.NextToken;
  } while (token);
  assert.deepEqual(seen, ids);
  await rejectsWith(
    h.fsx.send(new DescribeBackupsCommand({ BackupIds: ['backup-0123456789abcdef0'] })),
    BackupNotFound,
  );
});

test('DeleteBackup answers DELETED, frees its chunks, and refuses while a restore reads the backup', async () => {
  const fs = await available();
  await buildSampleTree(clientOf(fs));
  const { handle } = await clientOf(fs).create(
    ROOT_CREDENTIALS,
    ROOT_INO,
    'unique',
    0o644,
    O_WRONLY | O_CREAT,
  );
  await clientOf(fs).write(handle, 0, randomBytes(4096));
  const before = await chunkCount();
  const { Backup: b } = await h.fsx.send(new CreateBackupCommand({ FileSystemId: fs.FileSystemId }));
  await backupAvailable(b!.BackupId!);
  assert.equal(await chunkCount(), before + 1);
  const release = h.allocator.hold();
  const restore = (
    await h.fsx.send(new CreateFileSystemFromBackupCommand({ BackupId: b!.BackupId, SubnetIds: [SUBNET] }))
  ).FileSystem!;
  const err = await rejectsWith(
    h.fsx.send(new DeleteBackupCommand({ BackupId: b!.BackupId })),
    BackupRestoring,
  );
  assert.equal((err as BackupRestoring).FileSystemId, restore.FileSystemId);
  release();
  await waitFor('restore done', async () => {
    const d = (await h.fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: [restore.FileSystemId!] })))
      .FileSystems![0]!;
    return d.Lifecycle === 'AVAILABLE' ? d : undefined;
  });
  const out = await h.fsx.send(new DeleteBackupCommand({ BackupId: b!.BackupId }));
  assert.equal(out.Lifecycle, 'DELETED');
  await rejectsWith(h.fsx.send(new DescribeBackupsCommand({ BackupIds: [b!.BackupId!] })), BackupNotFound);
  assert.equal(await chunkCount(), before);
  await rejectsWith(h.fsx.send(new DeleteBackupCommand({ BackupId: b!.BackupId })), BackupNotFound);
});

test('CreateFileSystemFromBackup refuses a missing backup and a different deployment type', async () => {
  await rejectsWith(
    h.fsx.send(
      new CreateFileSystemFromBackupCommand({ BackupId: 'backup-0123456789abcdef0', SubnetIds: [SUBNET] }),
    ),
    BackupNotFound,
  );
  const fs = await available();
  const { Backup: b } = await h.fsx.send(new CreateBackupCommand({ FileSystemId: fs.FileSystemId }));
  await backupAvailable(b!.BackupId!);
  await rejectsWith(
    h.fsx.send(
      new CreateFileSystemFromBackupCommand({
        BackupId: b!.BackupId,
        SubnetIds: [SUBNET],
        LustreConfiguration: { DeploymentType: 'PERSISTENT_2', PerUnitStorageThroughput: 125 },
      }),
    ),
    BadRequest,
    /DeploymentType/,
  );
});

test('deleting with a final backup keeps an AVAILABLE backup with the final tags', async () => {
  const fs = await available();
  await buildSampleTree(clientOf(fs));
  const out = await h.fsx.send(
    new DeleteFileSystemCommand({
      FileSystemId: fs.FileSystemId,
      LustreConfiguration: { SkipFinalBackup: false, FinalBackupTags: [{ Key: 'final', Value: 'yes' }] },
    }),
  );
  assert.equal(out.Lifecycle, 'DELETING');
  const finalId = out.LustreResponse!.FinalBackupId!;
  assert.match(finalId, /^backup-/);
  assert.deepEqual(out.LustreResponse!.FinalBackupTags, [{ Key: 'final', Value: 'yes' }]);
  const b = await backupAvailable(finalId);
  assert.deepEqual(b.Tags, [{ Key: 'final', Value: 'yes' }]);
  await waitFor('deleted', async () => {
    try {
      await h.fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: [fs.FileSystemId!] }));
      return undefined;
    } catch (err) {
      return err instanceof FileSystemNotFound ? true : undefined;
    }
  });
});

test('without a client to read file systems, backups are UnsupportedOperation', async () => {
  const plain = await startHarness();
  try {
    const { FileSystem: fs } = await plain.fsx.send(new CreateFileSystemCommand(persistent));
    await waitFor('AVAILABLE', async () => {
      const d = (await plain.fsx.send(new DescribeFileSystemsCommand({}))).FileSystems![0]!;
      return d.Lifecycle === 'AVAILABLE' ? true : undefined;
    });
    await rejectsWith(
      plain.fsx.send(new CreateBackupCommand({ FileSystemId: fs!.FileSystemId })),
      UnsupportedOperation,
    );
  } finally {
    await plain.close();
  }
});

test('a restore interrupted by a restart starts over on new targets and ends with the same tree', async () => {
  const fs = await available();
  await buildSampleTree(clientOf(fs));
  const { Backup: b } = await h.fsx.send(new CreateBackupCommand({ FileSystemId: fs.FileSystemId }));
  await backupAvailable(b!.BackupId!);
  const release = h.allocator.hold();
  const restoring = (
    await h.fsx.send(new CreateFileSystemFromBackupCommand({ BackupId: b!.BackupId, SubnetIds: [SUBNET] }))
  ).FileSystem!;
  const firstName = restoring.LustreConfiguration!.MountName!;
  await waitFor('restore started', () =>
    h.allocator.calls.some((c) => c.startsWith(`create ${firstName}`)) ? true : undefined,
  );
  await h.restart();
  release();
  const ready = await waitFor('restored after restart', async () => {
    const d = (await h.fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: [restoring.FileSystemId!] })))
      .FileSystems![0]!;
    if (d.Lifecycle === 'FAILED') throw new Error(d.FailureDetails?.Message);
    return d.Lifecycle === 'AVAILABLE' ? d : undefined;
  });
  assert.notEqual(ready.LustreConfiguration!.MountName, firstName);
  assert.ok(h.allocator.calls.includes(`destroy ${firstName}`));
  assert.deepEqual(await dumpTree(clientOf(ready)), await dumpTree(clientOf(fs)));
});
