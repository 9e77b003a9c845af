import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  BadRequest,
  CreateFileSystemCommand,
  type CreateFileSystemCommandInput,
  type CreateFileSystemLustreConfiguration,
  DescribeFileSystemsCommand,
  IncompatibleParameterError,
  InvalidNetworkSettings,
  InvalidPerUnitStorageThroughput,
  ServiceLimitExceeded,
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

let h: Harness;
before(async () => {
  h = await startHarness({ limits: { fileSystems: 8, totalStorageGiB: 30_000 } });
});
after(() => h.close());

function req(
  lustre: Partial<CreateFileSystemLustreConfiguration> = {},
  over: Partial<CreateFileSystemCommandInput> = {},
): CreateFileSystemCommandInput {
  return {
    FileSystemType: 'LUSTRE',
    StorageCapacity: 1200,
    SubnetIds: [SUBNET],
    LustreConfiguration: { DeploymentType: 'SCRATCH_2', ...lustre },
    ...over,
  };
}

const create = (input: CreateFileSystemCommandInput) => h.fsx.send(new CreateFileSystemCommand(input));

test('a new file system is CREATING with FSx-shaped ids, then AVAILABLE once the MGS allocated its targets', async () => {
  const release = h.allocator.hold();
  const { FileSystem: fs } = await create(req({}, { Tags: [{ Key: 'Name', Value: 'scratch' }] }));
  assert.ok(fs);
  assert.match(fs.FileSystemId!, /^fs-[0-9a-f]{17}$/);
  assert.equal(fs.Lifecycle, 'CREATING');
  assert.equal(fs.ResourceARN, `arn:aws:fsx:${REGION}:${ACCOUNT}:file-system/${fs.FileSystemId}`);
  assert.equal(fs.OwnerId, ACCOUNT);
  assert.equal(fs.DNSName, '127.0.0.1:9400');
  assert.match(fs.LustreConfiguration!.MountName!, /^[a-z][a-z0-9]{7}$/);
  assert.match(fs.VpcId!, /^vpc-[0-9a-f]{17}$/);
  assert.deepEqual(fs.SubnetIds, [SUBNET]);
  assert.match(fs.NetworkInterfaceIds![0]!, /^eni-[0-9a-f]{17}$/);
  assert.ok(fs.CreationTime instanceof Date && Math.abs(fs.CreationTime.getTime() - Date.now()) < 60_000);
  assert.equal(fs.StorageType, 'SSD');
  assert.equal(fs.FileSystemTypeVersion, '2.10');
  assert.match(fs.LustreConfiguration!.WeeklyMaintenanceStartTime!, /^[1-7]:\d\d:\d\d$/);
  assert.deepEqual(fs.Tags, [{ Key: 'Name', Value: 'scratch' }]);
  const described = await h.fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: [fs.FileSystemId!] }));
  assert.equal(described.FileSystems![0]!.Lifecycle, 'CREATING');
  release();
  await waitFor('AVAILABLE', async () => {
    const d = await h.fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: [fs.FileSystemId!] }));
    return d.FileSystems![0]!.Lifecycle === 'AVAILABLE' ? true : undefined;
  });
  const mountName = fs.LustreConfiguration!.MountName!;
  assert.ok(h.allocator.calls.includes(`create ${mountName} osts=1 bytes=${1200 * 1024 * 1024} replicas=1`));
});

test('PERSISTENT file systems get one OST per 1200 GiB and two replicas', async () => {
  const { FileSystem: fs } = await create(
    req({ DeploymentType: 'PERSISTENT_2', PerUnitStorageThroughput: 125 }, { StorageCapacity: 4800 }),
  );
  const name = fs!.LustreConfiguration!.MountName!;
  await waitFor('create call', () => h.allocator.fileSystems.get(name));
  assert.ok(h.allocator.calls.includes(`create ${name} osts=4 bytes=${1200 * 1024 * 1024} replicas=2`));
  assert.equal(fs!.LustreConfiguration!.PerUnitStorageThroughput, 125);
  assert.equal(fs!.FileSystemTypeVersion, '2.12');
  assert.match(fs!.KmsKeyId!, /^arn:aws:kms:/);
});

const RULES: [string, CreateFileSystemCommandInput, Parameters<typeof rejectsWith>[1], RegExp?][] = [
  [
    'FileSystemType is required',
    { ...req(), FileSystemType: undefined as never },
    'ValidationException',
    /fileSystemType/,
  ],
  ['SubnetIds are required', { ...req(), SubnetIds: undefined as never }, 'ValidationException', /subnetIds/],
  [
    'a subnet id must look like subnet-<hex>',
    req({}, { SubnetIds: ['subnet-zzzzzzzzz'] }),
    'ValidationException',
    /pattern/,
  ],
  [
    'WeeklyMaintenanceStartTime is d:HH:MM',
    req({ WeeklyMaintenanceStartTime: '8:10:00' }),
    'ValidationException',
  ],
  [
    'AutomaticBackupRetentionDays is at most 90',
    req({ DeploymentType: 'PERSISTENT_1', PerUnitStorageThroughput: 50, AutomaticBackupRetentionDays: 91 }),
    'ValidationException',
  ],
  [
    'DeploymentType is one of the Lustre deployment types',
    req({ DeploymentType: 'SCRATCH_3' as never }),
    'ValidationException',
    /enum/,
  ],
  ['only Lustre file systems are emulated', req({}, { FileSystemType: 'WINDOWS' }), UnsupportedOperation],
  [
    'Lustre takes exactly one subnet',
    req({}, { SubnetIds: [SUBNET, 'subnet-0123456789abcdef1'] }),
    InvalidNetworkSettings,
  ],
  ['StorageCapacity is required', req({}, { StorageCapacity: undefined }), BadRequest, /StorageCapacity/],
  [
    'SCRATCH_2 SSD capacity is 1200, 2400 or a multiple of 2400',
    req({}, { StorageCapacity: 3600 }),
    BadRequest,
    /2400/,
  ],
  [
    'SCRATCH_1 capacity is 1200, 2400 or a multiple of 3600',
    req({ DeploymentType: 'SCRATCH_1' }, { StorageCapacity: 4800 }),
    BadRequest,
    /3600/,
  ],
  [
    'PERSISTENT_1 HDD at 12 MB/s/TiB grows in 6000 GiB steps',
    req(
      { DeploymentType: 'PERSISTENT_1', PerUnitStorageThroughput: 12, DriveCacheType: 'NONE' },
      { StorageType: 'HDD', StorageCapacity: 1800 },
    ),
    BadRequest,
    /6000/,
  ],
  [
    'PERSISTENT_1 HDD at 40 MB/s/TiB grows in 1800 GiB steps',
    req(
      { DeploymentType: 'PERSISTENT_1', PerUnitStorageThroughput: 40, DriveCacheType: 'READ' },
      { StorageType: 'HDD', StorageCapacity: 2400 },
    ),
    BadRequest,
    /1800/,
  ],
  [
    'HDD storage is only for PERSISTENT_1',
    req({ DriveCacheType: 'NONE' }, { StorageType: 'HDD', StorageCapacity: 6000 }),
    IncompatibleParameterError,
  ],
  [
    'HDD needs a DriveCacheType',
    req(
      { DeploymentType: 'PERSISTENT_1', PerUnitStorageThroughput: 12 },
      { StorageType: 'HDD', StorageCapacity: 6000 },
    ),
    BadRequest,
    /DriveCacheType/,
  ],
  ['DriveCacheType is for HDD only', req({ DriveCacheType: 'READ' }), IncompatibleParameterError],
  [
    'PERSISTENT needs PerUnitStorageThroughput',
    req({ DeploymentType: 'PERSISTENT_1' }),
    InvalidPerUnitStorageThroughput,
  ],
  [
    'PERSISTENT_1 SSD throughput is 50, 100 or 200',
    req({ DeploymentType: 'PERSISTENT_1', PerUnitStorageThroughput: 125 }),
    InvalidPerUnitStorageThroughput,
  ],
  [
    'PERSISTENT_2 throughput is 125, 250, 500 or 1000',
    req({ DeploymentType: 'PERSISTENT_2', PerUnitStorageThroughput: 200 }),
    InvalidPerUnitStorageThroughput,
  ],
  [
    'PERSISTENT_1 HDD throughput is 12 or 40',
    req(
      { DeploymentType: 'PERSISTENT_1', PerUnitStorageThroughput: 50, DriveCacheType: 'NONE' },
      { StorageType: 'HDD', StorageCapacity: 6000 },
    ),
    InvalidPerUnitStorageThroughput,
  ],
  [
    'SCRATCH takes no PerUnitStorageThroughput',
    req({ PerUnitStorageThroughput: 50 }),
    InvalidPerUnitStorageThroughput,
  ],
  [
    'KmsKeyId is for PERSISTENT only',
    req({}, { KmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/k' }),
    IncompatibleParameterError,
  ],
  ['SCRATCH has no automatic backups', req({ AutomaticBackupRetentionDays: 7 }), BadRequest, /backups/],
  [
    'MetadataConfiguration is for PERSISTENT_2 only',
    req({
      DeploymentType: 'PERSISTENT_1',
      PerUnitStorageThroughput: 50,
      MetadataConfiguration: { Mode: 'AUTOMATIC' },
    }),
    IncompatibleParameterError,
  ],
  [
    'AUTOMATIC metadata takes no Iops',
    req({
      DeploymentType: 'PERSISTENT_2',
      PerUnitStorageThroughput: 125,
      MetadataConfiguration: { Mode: 'AUTOMATIC', Iops: 3000 },
    }),
    BadRequest,
    /Iops/,
  ],
  [
    'USER_PROVISIONED metadata needs Iops',
    req({
      DeploymentType: 'PERSISTENT_2',
      PerUnitStorageThroughput: 125,
      MetadataConfiguration: { Mode: 'USER_PROVISIONED' },
    }),
    BadRequest,
    /Iops/,
  ],
  [
    'metadata Iops are 1500, 3000, 6000 or multiples of 12000',
    req({
      DeploymentType: 'PERSISTENT_2',
      PerUnitStorageThroughput: 125,
      MetadataConfiguration: { Mode: 'USER_PROVISIONED', Iops: 2000 },
    }),
    BadRequest,
    /Iops/,
  ],
  [
    'PERSISTENT_2 cannot run Lustre 2.10',
    req({ DeploymentType: 'PERSISTENT_2', PerUnitStorageThroughput: 125 }, { FileSystemTypeVersion: '2.10' }),
    BadRequest,
    /2\.10/,
  ],
  [
    'PERSISTENT_2 with metadata needs Lustre 2.15',
    req(
      {
        DeploymentType: 'PERSISTENT_2',
        PerUnitStorageThroughput: 125,
        MetadataConfiguration: { Mode: 'AUTOMATIC' },
      },
      { FileSystemTypeVersion: '2.12' },
    ),
    BadRequest,
  ],
  ['FileSystemTypeVersion is 2.10, 2.12 or 2.15', req({}, { FileSystemTypeVersion: '2.16' }), BadRequest],
  [
    'a log destination needs logging enabled',
    req({
      LogConfiguration: {
        Level: 'DISABLED',
        Destination: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/fsx/x`,
      },
    }),
    BadRequest,
  ],
  [
    'a log destination is an /aws/fsx log group of the account',
    req({
      LogConfiguration: {
        Level: 'WARN_ERROR',
        Destination: `arn:aws:logs:${REGION}:999999999999:log-group:/aws/fsx/x`,
      },
    }),
    BadRequest,
  ],
  [
    'RootSquash needs both a non-zero UID and GID',
    req({ RootSquashConfiguration: { RootSquash: '0:65534' } }),
    BadRequest,
  ],
  [
    'NoSquashNids need root squash enabled',
    req({ RootSquashConfiguration: { NoSquashNids: ['10.0.1.6@tcp'] } }),
    BadRequest,
  ],
  [
    'ImportPath is UnsupportedOperation when the emulator has no S3 configured',
    req({ ImportPath: 's3://bucket/prefix' }),
    UnsupportedOperation,
  ],
  ['ExportPath needs ImportPath', req({ ExportPath: 's3://bucket/out' }), BadRequest],
  [
    'PERSISTENT_2 has no ImportPath',
    req({ DeploymentType: 'PERSISTENT_2', PerUnitStorageThroughput: 125, ImportPath: 's3://b' }),
    BadRequest,
  ],
  [
    'INTELLIGENT_TIERING is not emulated',
    req({ DeploymentType: 'PERSISTENT_2' }, { StorageType: 'INTELLIGENT_TIERING' }),
    UnsupportedOperation,
  ],
  [
    'tag keys starting with aws: are reserved',
    req({}, { Tags: [{ Key: 'aws:owner', Value: 'x' }] }),
    BadRequest,
  ],
  ['EFA needs PERSISTENT_2 with metadata', req({ EfaEnabled: true }), BadRequest],
  [
    'Windows settings do not fit Lustre',
    req({}, { WindowsConfiguration: { ThroughputCapacity: 8 } }),
    IncompatibleParameterError,
  ],
  ['Lustre is IPv4 only', req({}, { NetworkType: 'DUAL' }), IncompatibleParameterError],
];

for (const [rule, input, expected, message] of RULES) {
  test(`CreateFileSystem refuses a request that breaks a rule: ${rule}`, async () => {
    const before = h.allocator.calls.length;
    await rejectsWith(create(input), expected, message);
    const all = await h.fsx.send(new DescribeFileSystemsCommand({}));
    assert.ok(all.FileSystems!.every((f) => f.Lifecycle !== 'FAILED'));
    assert.equal(h.allocator.calls.slice(before).filter((c) => c.startsWith('create')).length, 0);
  });
}

test('valid capacities of each deployment type are accepted', async () => {
  for (const [lustre, over] of [
    [{ DeploymentType: 'SCRATCH_1' }, { StorageCapacity: 3600 }],
    [{ DeploymentType: 'SCRATCH_2' }, { StorageCapacity: 2400 }],
    [
      { DeploymentType: 'PERSISTENT_1', PerUnitStorageThroughput: 40, DriveCacheType: 'READ' },
      { StorageType: 'HDD', StorageCapacity: 1800 },
    ],
  ] as const) {
    const { FileSystem: fs } = await create(req(lustre, over));
    assert.equal(fs!.StorageCapacity, over.StorageCapacity);
  }
});

test('the account quotas refuse a file system too many or too big', async () => {
  await rejectsWith(
    create(req({ DeploymentType: 'SCRATCH_1' }, { StorageCapacity: 36_000 })),
    ServiceLimitExceeded,
    /GiB/,
  );
  const all = await h.fsx.send(new DescribeFileSystemsCommand({}));
  for (let n = all.FileSystems!.length; n < 8; n++) await create(req());
  const err = await rejectsWith(create(req()), ServiceLimitExceeded);
  assert.equal((err as ServiceLimitExceeded).Limit, 'FILE_SYSTEM_COUNT');
});
