import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  CreateBackupCommand,
  CreateFileSystemCommand,
  DescribeBackupsCommand,
  DescribeFileSystemsCommand,
  type FileSystem,
} from '@aws-sdk/client-fsx';
import { type Harness, SUBNET, startHarness, waitFor } from '../../../../test/fsx/harness.ts';
import { MemoryClient } from '../../../../test/lustre/memory-client.ts';
import { lastDailyTime } from './auto-backups.ts';

const DAY = 24 * 3600_000;
let offset = 0;
let h: Harness;
before(async () => {
  const client = new MemoryClient();
  h = await startHarness({
    connectClient: async () => client,
    clock: () => Date.now() + offset,
    autoBackupIntervalMs: 20,
  });
});
after(() => h.close());

test('lastDailyTime is the latest HH:MM (UTC) not after now', () => {
  const now = Date.UTC(2024, 4, 10, 12, 0);
  assert.equal(lastDailyTime(now, '05:30'), Date.UTC(2024, 4, 10, 5, 30));
  assert.equal(lastDailyTime(now, '12:00'), now);
  assert.equal(lastDailyTime(now, '23:15'), Date.UTC(2024, 4, 9, 23, 15));
  assert.equal(lastDailyTime(now, '0530'), Date.UTC(2024, 4, 10, 5, 30));
});

async function automatic(fsId: string) {
  const out = await h.fsx.send(
    new DescribeBackupsCommand({
      Filters: [
        { Name: 'file-system-id', Values: [fsId] },
        { Name: 'backup-type', Values: ['AUTOMATIC'] },
      ],
    }),
  );
  return out.Backups!;
}

test('automatic backups are taken daily after the start time and deleted after the retention', async () => {
  const { FileSystem: created } = await h.fsx.send(
    new CreateFileSystemCommand({
      FileSystemType: 'LUSTRE',
      StorageCapacity: 1200,
      SubnetIds: [SUBNET],
      Tags: [{ Key: 'owner', Value: 'ops' }],
      LustreConfiguration: {
        DeploymentType: 'PERSISTENT_1',
        PerUnitStorageThroughput: 50,
        AutomaticBackupRetentionDays: 1,
        DailyAutomaticBackupStartTime: '00:00',
        CopyTagsToBackups: true,
      },
    }),
  );
  const id = created!.FileSystemId!;
  const fs: FileSystem = await waitFor('AVAILABLE', async () => {
    const d = (await h.fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: [id] }))).FileSystems![0]!;
    return d.Lifecycle === 'AVAILABLE' ? d : undefined;
  });
  const user = (await h.fsx.send(new CreateBackupCommand({ FileSystemId: fs.FileSystemId }))).Backup!;
  offset = DAY;
  const first = await waitFor('first automatic backup', async () => {
    const b = await automatic(id);
    return b.length === 1 && b[0]!.Lifecycle === 'AVAILABLE' ? b[0] : undefined;
  });
  assert.deepEqual(first.Tags, [{ Key: 'owner', Value: 'ops' }]);
  offset = 3 * DAY;
  const second = await waitFor('the first pruned, a new one taken', async () => {
    const b = await automatic(id);
    return b.length === 1 && b[0]!.BackupId !== first.BackupId && b[0]!.Lifecycle === 'AVAILABLE'
      ? b[0]
      : undefined;
  });
  assert.equal(second.Type, 'AUTOMATIC');
  const kept = await h.fsx.send(new DescribeBackupsCommand({ BackupIds: [user.BackupId!] }));
  assert.equal(kept.Backups![0]!.Type, 'USER_INITIATED');
});
