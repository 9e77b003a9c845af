import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  BadRequest,
  CreateFileSystemCommand,
  type CreateFileSystemCommandInput,
  DeleteFileSystemCommand,
  DescribeFileSystemsCommand,
  type FileSystem,
  FileSystemNotFound,
  IncompatibleParameterError,
  InvalidPerUnitStorageThroughput,
  UpdateFileSystemCommand,
} from '@aws-sdk/client-fsx';
import { rejectsWith } from '../../../../test/fsx/expect.ts';
import { type Harness, SUBNET, startHarness, waitFor } from '../../../../test/fsx/harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness({ healthIntervalMs: 25 });
});
after(() => h.close());

const scratch2: CreateFileSystemCommandInput = {
  FileSystemType: 'LUSTRE',
  StorageCapacity: 1200,
  SubnetIds: [SUBNET],
  LustreConfiguration: { DeploymentType: 'SCRATCH_2' },
};
const persistent2: CreateFileSystemCommandInput = {
  ...scratch2,
  StorageCapacity: 2400,
  LustreConfiguration: { DeploymentType: 'PERSISTENT_2', PerUnitStorageThroughput: 250 },
};

async function describeOne(id: string): Promise<FileSystem> {
  const out = await h.fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: [id] }));
  return out.FileSystems![0]!;
}

async function until(id: string, lifecycle: string): Promise<FileSystem> {
  return waitFor(`${id} ${lifecycle}`, async () => {
    const fs = await describeOne(id);
    return fs.Lifecycle === lifecycle ? fs : undefined;
  });
}

async function available(input: CreateFileSystemCommandInput = scratch2): Promise<FileSystem> {
  const { FileSystem: fs } = await h.fsx.send(new CreateFileSystemCommand(input));
  return until(fs!.FileSystemId!, 'AVAILABLE');
}

test('a file system whose targets the MGS cannot allocate becomes FAILED with the reason', async () => {
  h.allocator.failWith = new Error('not enough OSS capacity for 1 OSTs');
  try {
    const { FileSystem: fs } = await h.fsx.send(new CreateFileSystemCommand(scratch2));
    const failed = await until(fs!.FileSystemId!, 'FAILED');
    assert.match(failed.FailureDetails!.Message!, /not enough OSS capacity/);
  } finally {
    h.allocator.failWith = undefined;
  }
});

test('an MGS that is briefly unreachable only delays creation', async () => {
  h.allocator.unavailableFor = 2;
  const fs = await available();
  assert.equal(fs.Lifecycle, 'AVAILABLE');
  assert.equal(h.allocator.unavailableFor, 0);
});

test('DescribeFileSystems names a missing file system', async () => {
  await rejectsWith(
    h.fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: ['fs-0123456789abcdef0'] })),
    FileSystemNotFound,
    /fs-0123456789abcdef0/,
  );
});

test('DescribeFileSystems pages with MaxResults and NextToken, each file system exactly once', async () => {
  for (let i = 0; i < 5; i++) await h.fsx.send(new CreateFileSystemCommand(scratch2));
  const total = (await h.fsx.send(new DescribeFileSystemsCommand({}))).FileSystems!.length;
  const seen: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const out = await h.fsx.send(new DescribeFileSystemsCommand({ MaxResults: 2, NextToken: token }));
    assert.ok(out.FileSystems!.length <= 2);
    seen.push(...out.FileSystems!.map((f) => f.FileSystemId!));
    token = out.NextToken;
    pages++;
  } while (token);
  assert.equal(seen.length, total);
  assert.equal(new Set(seen).size, total);
  assert.equal(pages, Math.ceil(total / 2));
  await rejectsWith(
    h.fsx.send(new DescribeFileSystemsCommand({ NextToken: 'bm9wZQ' })),
    BadRequest,
    /NextToken/,
  );
});

test('the same ClientRequestToken and request create one file system; a different request under it is refused', async () => {
  const input = { ...scratch2, ClientRequestToken: 'token-create-1' };
  const creates = () => h.allocator.calls.filter((c) => c.startsWith('create')).length;
  const a = await h.fsx.send(new CreateFileSystemCommand(input));
  const b = await h.fsx.send(new CreateFileSystemCommand(input));
  assert.equal(a.FileSystem!.FileSystemId, b.FileSystem!.FileSystemId);
  await until(a.FileSystem!.FileSystemId!, 'AVAILABLE');
  const made = creates();
  const c = await h.fsx.send(new CreateFileSystemCommand(input));
  assert.equal(c.FileSystem!.FileSystemId, a.FileSystem!.FileSystemId);
  assert.equal(creates(), made);
  const err = await rejectsWith(
    h.fsx.send(new CreateFileSystemCommand({ ...input, StorageCapacity: 2400 })),
    IncompatibleParameterError,
  );
  assert.equal((err as IncompatibleParameterError).Parameter, 'ClientRequestToken');
});

test('growing capacity adds OSTs through the MGS, shows UPDATING, then the new capacity and completed actions', async () => {
  const fs = await available(persistent2);
  const release = h.allocator.hold();
  const out = await h.fsx.send(
    new UpdateFileSystemCommand({ FileSystemId: fs.FileSystemId, StorageCapacity: 7200 }),
  );
  assert.equal(out.FileSystem!.Lifecycle, 'UPDATING');
  const action = out.FileSystem!.AdministrativeActions!.at(-1)!;
  assert.equal(action.AdministrativeActionType, 'FILE_SYSTEM_UPDATE');
  assert.equal(action.Status, 'IN_PROGRESS');
  assert.equal(action.TargetFileSystemValues!.StorageCapacity, 7200);
  await rejectsWith(
    h.fsx.send(new UpdateFileSystemCommand({ FileSystemId: fs.FileSystemId, StorageCapacity: 9600 })),
    BadRequest,
    /in progress/,
  );
  release();
  const grown = await waitFor('grown', async () => {
    const d = await describeOne(fs.FileSystemId!);
    return d.StorageCapacity === 7200 && d.AdministrativeActions?.every((a) => a.Status === 'COMPLETED')
      ? d
      : undefined;
  });
  assert.equal(grown.Lifecycle, 'AVAILABLE');
  assert.deepEqual(
    grown.AdministrativeActions!.map((a) => a.AdministrativeActionType),
    ['FILE_SYSTEM_UPDATE', 'STORAGE_OPTIMIZATION'],
  );
  const name = fs.LustreConfiguration!.MountName!;
  assert.ok(h.allocator.calls.includes(`addOsts ${name} count=4 bytes=${1200 * 1024 * 1024}`));
  assert.equal(h.allocator.fileSystems.get(name)!.osts.length, 6);
});

type Target = 'p2' | 's1' | 's2' | 'missing';
const UPDATE_RULES: [string, Target, object, Parameters<typeof rejectsWith>[1], RegExp?][] = [
  ['capacity only grows', 'p2', { StorageCapacity: 1200 }, BadRequest, /greater than/],
  ['SSD capacity grows in 2400 GiB steps', 'p2', { StorageCapacity: 3600 }, BadRequest, /multiple of 2400/],
  ['SCRATCH_1 capacity cannot grow', 's1', { StorageCapacity: 3600 }, BadRequest, /SCRATCH_1/],
  [
    'SCRATCH has no PerUnitStorageThroughput',
    's2',
    { LustreConfiguration: { PerUnitStorageThroughput: 125 } },
    InvalidPerUnitStorageThroughput,
  ],
  [
    'PERSISTENT_2 throughput is 125, 250, 500 or 1000',
    'p2',
    { LustreConfiguration: { PerUnitStorageThroughput: 200 } },
    InvalidPerUnitStorageThroughput,
  ],
  ['an update must change something', 'p2', {}, BadRequest, /no change/],
  [
    'AutoImportPolicy needs a linked S3 bucket',
    'p2',
    { LustreConfiguration: { AutoImportPolicy: 'NEW' } },
    BadRequest,
  ],
  [
    'SCRATCH has no automatic backups',
    's2',
    { LustreConfiguration: { AutomaticBackupRetentionDays: 3 } },
    BadRequest,
  ],
  ['the Lustre version only moves up', 'p2', { FileSystemTypeVersion: '2.10' }, BadRequest, /upgraded/],
  ['the storage type is immutable', 'p2', { StorageType: 'HDD' }, BadRequest],
  [
    'metadata IOPS need PERSISTENT_2',
    's2',
    { LustreConfiguration: { MetadataConfiguration: { Mode: 'AUTOMATIC' } } },
    IncompatibleParameterError,
  ],
  ['the file system must exist', 'missing', { StorageCapacity: 2400 }, FileSystemNotFound],
];

const targets = new Map<Target, string>();
for (const [rule, target, rest, expected, message] of UPDATE_RULES) {
  test(`UpdateFileSystem refuses an update that breaks a rule: ${rule}`, async () => {
    if (targets.size === 0) {
      targets.set('p2', (await available(persistent2)).FileSystemId!);
      targets.set(
        's1',
        (await available({ ...scratch2, LustreConfiguration: { DeploymentType: 'SCRATCH_1' } }))
          .FileSystemId!,
      );
      targets.set('s2', (await available()).FileSystemId!);
      targets.set('missing', 'fs-0123456789abcdef0');
    }
    const id = targets.get(target)!;
    const before = target === 'missing' ? undefined : await describeOne(id);
    await rejectsWith(
      h.fsx.send(new UpdateFileSystemCommand({ FileSystemId: id, ...rest })),
      expected,
      message,
    );
    if (before) assert.deepEqual(await describeOne(id), before);
  });
}

test('UpdateFileSystem applies Lustre settings at once and records the update', async () => {
  const p2 = await available(persistent2);
  const out = await h.fsx.send(
    new UpdateFileSystemCommand({
      FileSystemId: p2.FileSystemId,
      FileSystemTypeVersion: '2.15',
      LustreConfiguration: {
        WeeklyMaintenanceStartTime: '3:04:30',
        PerUnitStorageThroughput: 500,
        DataCompressionType: 'LZ4',
        AutomaticBackupRetentionDays: 7,
        RootSquashConfiguration: { RootSquash: '65534:65534', NoSquashNids: ['10.0.1.6@tcp'] },
      },
    }),
  );
  const c = out.FileSystem!.LustreConfiguration!;
  assert.equal(out.FileSystem!.Lifecycle, 'AVAILABLE');
  assert.equal(out.FileSystem!.FileSystemTypeVersion, '2.15');
  assert.equal(c.WeeklyMaintenanceStartTime, '3:04:30');
  assert.equal(c.PerUnitStorageThroughput, 500);
  assert.equal(c.DataCompressionType, 'LZ4');
  assert.equal(c.AutomaticBackupRetentionDays, 7);
  assert.match(c.DailyAutomaticBackupStartTime!, /^\d\d:\d\d$/);
  assert.equal(c.RootSquashConfiguration!.RootSquash, '65534:65534');
  const action = out.FileSystem!.AdministrativeActions!.at(-1)!;
  assert.equal(action.Status, 'COMPLETED');
  assert.equal(action.TargetFileSystemValues!.LustreConfiguration!.PerUnitStorageThroughput, 500);
  assert.equal((await describeOne(p2.FileSystemId!)).LustreConfiguration!.DataCompressionType, 'LZ4');
});

test('a file system still CREATING can be neither updated nor deleted', async () => {
  const release = h.allocator.hold();
  try {
    const { FileSystem: fs } = await h.fsx.send(new CreateFileSystemCommand(persistent2));
    await rejectsWith(
      h.fsx.send(new UpdateFileSystemCommand({ FileSystemId: fs!.FileSystemId, StorageCapacity: 4800 })),
      BadRequest,
      /CREATING/,
    );
    await rejectsWith(
      h.fsx.send(new DeleteFileSystemCommand({ FileSystemId: fs!.FileSystemId })),
      BadRequest,
      /CREATING/,
    );
  } finally {
    release();
  }
});

test('DeleteFileSystem answers DELETING, destroys the targets, then the file system is gone', async () => {
  const fs = await available();
  const name = fs.LustreConfiguration!.MountName!;
  const release = h.allocator.hold();
  const out = await h.fsx.send(new DeleteFileSystemCommand({ FileSystemId: fs.FileSystemId }));
  assert.equal(out.Lifecycle, 'DELETING');
  assert.equal((await describeOne(fs.FileSystemId!)).Lifecycle, 'DELETING');
  release();
  await waitFor('gone', async () => {
    try {
      await describeOne(fs.FileSystemId!);
      return undefined;
    } catch (err) {
      return err instanceof FileSystemNotFound ? true : undefined;
    }
  });
  assert.ok(h.allocator.calls.includes(`destroy ${name}`));
  assert.equal(h.allocator.fileSystems.has(name), false);
  await rejectsWith(
    h.fsx.send(new DeleteFileSystemCommand({ FileSystemId: fs.FileSystemId })),
    FileSystemNotFound,
  );
});

test('DeleteFileSystem refuses final backups of SCRATCH and tags without a final backup', async () => {
  const fs = await available();
  await rejectsWith(
    h.fsx.send(
      new DeleteFileSystemCommand({
        FileSystemId: fs.FileSystemId,
        LustreConfiguration: { SkipFinalBackup: false },
      }),
    ),
    BadRequest,
    /SCRATCH/,
  );
  await rejectsWith(
    h.fsx.send(
      new DeleteFileSystemCommand({
        FileSystemId: fs.FileSystemId,
        LustreConfiguration: { SkipFinalBackup: true, FinalBackupTags: [{ Key: 'k', Value: 'v' }] },
      }),
    ),
    BadRequest,
    /FinalBackupTags/,
  );
  assert.equal((await describeOne(fs.FileSystemId!)).Lifecycle, 'AVAILABLE');
});

test('a file system the MGS forgot is MISCONFIGURED, and AVAILABLE again when the MGS knows it', async () => {
  const fs = await available();
  const name = fs.LustreConfiguration!.MountName!;
  const cfg = h.allocator.fileSystems.get(name)!;
  h.allocator.fileSystems.delete(name);
  const lost = await until(fs.FileSystemId!, 'MISCONFIGURED');
  assert.match(lost.FailureDetails!.Message!, /MGS/);
  h.allocator.fileSystems.set(name, cfg);
  const back = await until(fs.FileSystemId!, 'AVAILABLE');
  assert.equal(back.FailureDetails, undefined);
});

test('RootSquashConfiguration reaches the MGS: at creation, on UpdateFileSystem, and "0:0" turns it off', async () => {
  const fs = await available({
    ...scratch2,
    LustreConfiguration: {
      ...scratch2.LustreConfiguration,
      RootSquashConfiguration: { RootSquash: '65534:65534', NoSquashNids: ['10.0.1.6@tcp'] },
    },
  });
  const name = fs.LustreConfiguration!.MountName!;
  assert.deepEqual(h.allocator.fileSystems.get(name)!.rootSquash, {
    uid: 65534,
    gid: 65534,
    nosquashNids: ['10.0.1.6@tcp'],
  });
  const update = (RootSquash: string) =>
    h.fsx.send(
      new UpdateFileSystemCommand({
        FileSystemId: fs.FileSystemId,
        LustreConfiguration: { RootSquashConfiguration: { RootSquash } },
      }),
    );
  await update('99:98');
  assert.deepEqual(h.allocator.fileSystems.get(name)!.rootSquash, { uid: 99, gid: 98, nosquashNids: [] });
  await update('0:0');
  assert.equal(h.allocator.fileSystems.get(name)!.rootSquash, undefined);
});
