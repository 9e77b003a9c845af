import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  BadRequest,
  CancelDataRepositoryTaskCommand,
  CreateDataRepositoryAssociationCommand,
  type CreateDataRepositoryAssociationCommandInput,
  CreateDataRepositoryTaskCommand,
  CreateFileSystemCommand,
  type DataRepositoryAssociation,
  DataRepositoryAssociationNotFound,
  type DataRepositoryTask,
  DataRepositoryTaskEnded,
  DataRepositoryTaskExecuting,
  DataRepositoryTaskNotFound,
  DeleteDataRepositoryAssociationCommand,
  DescribeDataRepositoryAssociationsCommand,
  DescribeDataRepositoryTasksCommand,
  DescribeFileSystemsCommand,
  type FileSystem,
  FileSystemNotFound,
  IncompatibleParameterError,
  UnsupportedOperation,
  UpdateDataRepositoryAssociationCommand,
} from '@aws-sdk/client-fsx';
import { rejectsWith } from '../../../test/fsx/expect.ts';
import { FakeRepositories } from '../../../test/fsx/fake-repositories.ts';
import { type Harness, SUBNET, startHarness, waitFor } from '../../../test/fsx/harness.ts';

let h: Harness;
const repos = new FakeRepositories();

before(async () => {
  h = await startHarness({ repositories: repos });
});
after(() => h.close());

async function fileSystem(deployment: 'PERSISTENT_2' | 'SCRATCH_1' = 'PERSISTENT_2'): Promise<FileSystem> {
  const { FileSystem: fs } = await h.fsx.send(
    new CreateFileSystemCommand({
      FileSystemType: 'LUSTRE',
      StorageCapacity: 1200,
      SubnetIds: [SUBNET],
      LustreConfiguration:
        deployment === 'SCRATCH_1'
          ? { DeploymentType: 'SCRATCH_1' }
          : { DeploymentType: 'PERSISTENT_2', PerUnitStorageThroughput: 125 },
    }),
  );
  return waitFor('AVAILABLE', async () => {
    const d = (await h.fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: [fs!.FileSystemId!] })))
      .FileSystems![0]!;
    return d.Lifecycle === 'AVAILABLE' ? d : undefined;
  });
}

async function dra(id: string): Promise<DataRepositoryAssociation> {
  return (await h.fsx.send(new DescribeDataRepositoryAssociationsCommand({ AssociationIds: [id] })))
    .Associations![0]!;
}

async function settled(id: string, not = ['CREATING', 'UPDATING']): Promise<DataRepositoryAssociation> {
  return waitFor(`association ${id} settled`, async () => {
    const d = await dra(id);
    return not.includes(d.Lifecycle!) ? undefined : d;
  });
}

async function task(id: string): Promise<DataRepositoryTask> {
  return (await h.fsx.send(new DescribeDataRepositoryTasksCommand({ TaskIds: [id] })))
    .DataRepositoryTasks![0]!;
}

async function ended(id: string): Promise<DataRepositoryTask> {
  return waitFor(`task ${id} ended`, async () => {
    const t = await task(id);
    return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(t.Lifecycle!) ? t : undefined;
  });
}

function create(fs: FileSystem, extra: Partial<CreateDataRepositoryAssociationCommandInput>) {
  return h.fsx.send(
    new CreateDataRepositoryAssociationCommand({
      FileSystemId: fs.FileSystemId!,
      FileSystemPath: '/ns1',
      DataRepositoryPath: 's3://bucket/ns1/',
      ...extra,
    }),
  );
}

test('an association goes CREATING → AVAILABLE with FSx fields, and the agent watches it', async () => {
  const fs = await fileSystem();
  const { Association: a } = await create(fs, {
    FileSystemPath: '/ns1/',
    S3: { AutoImportPolicy: { Events: ['NEW', 'CHANGED'] }, AutoExportPolicy: { Events: ['NEW'] } },
    Tags: [{ Key: 'k', Value: 'v' }],
  });
  assert.equal(a!.Lifecycle, 'CREATING');
  assert.match(a!.AssociationId!, /^dra-[0-9a-f]{17}$/);
  assert.equal(
    a!.ResourceARN,
    `arn:aws:fsx:us-east-1:123456789012:association/${fs.FileSystemId}/${a!.AssociationId}`,
  );
  assert.equal(a!.FileSystemPath, '/ns1');
  assert.equal(a!.ImportedFileChunkSize, 1024);
  assert.equal(a!.BatchImportMetaDataOnCreate, false);
  const done = await settled(a!.AssociationId!);
  assert.equal(done.Lifecycle, 'AVAILABLE');
  assert.ok(done.CreationTime instanceof Date);
  assert.deepEqual(done.S3?.AutoImportPolicy?.Events, ['NEW', 'CHANGED']);
  await waitFor('the agent watches the association', () =>
    repos.watched.get(fs.LustreConfiguration!.MountName!)?.includes(a!.AssociationId!) ? true : undefined,
  );
});

test('paths that overlap, "/" after the first, a ninth association and bad S3 paths are refused', async () => {
  const fs = await fileSystem();
  const { Association: a } = await create(fs, {
    FileSystemPath: '/data',
    DataRepositoryPath: 's3://bucket/data',
  });
  await settled(a!.AssociationId!);
  await rejectsWith(
    create(fs, { FileSystemPath: '/data/sub', DataRepositoryPath: 's3://bucket/x/' }),
    BadRequest,
    /overlaps \/data/,
  );
  await rejectsWith(
    create(fs, { FileSystemPath: '/', DataRepositoryPath: 's3://bucket/y/' }),
    BadRequest,
    /first/,
  );
  await rejectsWith(
    create(fs, { FileSystemPath: '/other', DataRepositoryPath: 's3://bucket/data/deeper/' }),
    BadRequest,
    /overlaps s3:\/\/bucket\/data\//,
  );
  await rejectsWith(
    create(fs, { FileSystemPath: 'relative', DataRepositoryPath: 's3://bucket/r/' }),
    BadRequest,
    /forward slash/,
  );
  await rejectsWith(
    create(fs, { FileSystemPath: '/z', DataRepositoryPath: 'https://bucket/r/' }),
    BadRequest,
    /s3:\/\/bucket\/prefix/,
  );
  await rejectsWith(
    create(fs, {
      FileSystemPath: '/z',
      DataRepositoryPath: 's3://bucket/r/',
      ImportedFileChunkSize: 512_001,
    }),
    'ValidationException',
  );
  for (let i = 1; i < 8; i++)
    await create(fs, { FileSystemPath: `/p${i}`, DataRepositoryPath: `s3://bucket/p${i}/` });
  await rejectsWith(
    create(fs, { FileSystemPath: '/p9', DataRepositoryPath: 's3://bucket/p9/' }),
    BadRequest,
    /8 data repository associations/,
  );
  const { Associations } = await h.fsx.send(
    new DescribeDataRepositoryAssociationsCommand({
      Filters: [{ Name: 'file-system-id', Values: [fs.FileSystemId!] }],
    }),
  );
  assert.equal(Associations!.length, 8, 'nothing was created by the refused requests');
});

test('a file system that cannot have associations, or does not exist, is refused', async () => {
  const scratch = await fileSystem('SCRATCH_1');
  await rejectsWith(create(scratch, {}), BadRequest, /SCRATCH_1/);
  await rejectsWith(create({ FileSystemId: 'fs-0000000000000dead' }, {}), FileSystemNotFound);
  await rejectsWith(dra('dra-0123456789abcdef0'), DataRepositoryAssociationNotFound);
});

test('a bucket that does not exist leaves the association MISCONFIGURED with the reason', async () => {
  const fs = await fileSystem();
  const { Association: a } = await create(fs, { DataRepositoryPath: 's3://missing-bucket/p/' });
  const d = await settled(a!.AssociationId!);
  assert.equal(d.Lifecycle, 'MISCONFIGURED');
  assert.match(d.FailureDetails!.Message!, /missing-bucket does not exist/);
  await rejectsWith(
    h.fsx.send(
      new CreateDataRepositoryTaskCommand({
        FileSystemId: fs.FileSystemId!,
        Type: 'EXPORT_TO_REPOSITORY',
        Report: { Enabled: false },
      }),
    ),
    BadRequest,
    /no AVAILABLE data repository association/,
  );
});

test('update changes the chunk size and policies through UPDATING; delete goes DELETING then away', async () => {
  const fs = await fileSystem();
  const { Association: a } = await create(fs, {});
  const id = a!.AssociationId!;
  await settled(id);
  const { Association: u } = await h.fsx.send(
    new UpdateDataRepositoryAssociationCommand({
      AssociationId: id,
      ImportedFileChunkSize: 64,
      S3: { AutoExportPolicy: { Events: ['DELETED'] } },
    }),
  );
  assert.equal(u!.Lifecycle, 'UPDATING');
  const d = await settled(id);
  assert.equal(d.ImportedFileChunkSize, 64);
  assert.deepEqual(d.S3?.AutoExportPolicy?.Events, ['DELETED']);
  const del = await h.fsx.send(
    new DeleteDataRepositoryAssociationCommand({ AssociationId: id, DeleteDataInFileSystem: true }),
  );
  assert.equal(del.Lifecycle, 'DELETING');
  assert.equal(del.DeleteDataInFileSystem, true);
  await waitFor('gone', async () => {
    try {
      await dra(id);
      return undefined;
    } catch (err) {
      return err instanceof DataRepositoryAssociationNotFound ? true : undefined;
    }
  });
  assert.deepEqual(repos.unlinked.at(-1), { id, deleteData: true });
});

test('BatchImportMetaDataOnCreate runs an import task over the association', async () => {
  const fs = await fileSystem();
  const { Association: a } = await create(fs, { BatchImportMetaDataOnCreate: true });
  await settled(a!.AssociationId!);
  const t = await waitFor('import task', async () => {
    const { DataRepositoryTasks } = await h.fsx.send(
      new DescribeDataRepositoryTasksCommand({
        Filters: [{ Name: 'data-repository-association-id', Values: [a!.AssociationId!] }],
      }),
    );
    return DataRepositoryTasks?.[0];
  });
  assert.equal(t.Type, 'IMPORT_METADATA_FROM_REPOSITORY');
  const done = await ended(t.TaskId!);
  assert.equal(done.Lifecycle, 'SUCCEEDED');
  assert.deepEqual(
    done.Status && [done.Status.TotalCount, done.Status.SucceededCount, done.Status.FailedCount],
    [2, 2, 0],
  );
});

test('a task counts files, fails when some failed, and writes the FSx CSV report of the failed ones', async () => {
  const fs = await fileSystem();
  const { Association: a } = await create(fs, {});
  await settled(a!.AssociationId!);
  repos.files = [{ path: 'ns1/ok' }, { path: 'ns1/denied,1', errorCode: 'S3AccessDenied' }];
  const { DataRepositoryTask: t } = await h.fsx.send(
    new CreateDataRepositoryTaskCommand({
      FileSystemId: fs.FileSystemId!,
      Type: 'EXPORT_TO_REPOSITORY',
      Paths: ['ns1'],
      Report: {
        Enabled: true,
        Path: 's3://bucket/ns1/reports',
        Format: 'REPORT_CSV_20191124',
        Scope: 'FAILED_FILES_ONLY',
      },
    }),
  );
  assert.equal(t!.Lifecycle, 'PENDING');
  assert.match(t!.TaskId!, /^task-[0-9a-f]{17}$/);
  const done = await ended(t!.TaskId!);
  assert.equal(done.Lifecycle, 'FAILED');
  assert.match(done.FailureDetails!.Message!, /1 of 2 files failed/);
  assert.deepEqual(
    [done.Status!.TotalCount, done.Status!.SucceededCount, done.Status!.FailedCount],
    [2, 1, 1],
  );
  assert.ok(done.StartTime && done.EndTime);
  assert.equal(
    repos.reports.get(`s3://bucket/ns1/reports/${t!.TaskId}/failures.csv`),
    '"ns1/denied,1",failed,S3AccessDenied\n',
  );
  repos.files = [{ path: 'a' }, { path: 'b' }];
  assert.equal(repos.runs.at(-1)!.scope.paths, undefined, "the association's own path means all of it");
});

test('task requests FSx refuses: bad report, File Cache options, a path outside the repositories', async () => {
  const fs = await fileSystem();
  const { Association: a } = await create(fs, {});
  await settled(a!.AssociationId!);
  const base = {
    FileSystemId: fs.FileSystemId!,
    Type: 'EXPORT_TO_REPOSITORY' as const,
    Report: { Enabled: false },
  };
  await rejectsWith(
    h.fsx.send(new CreateDataRepositoryTaskCommand({ ...base, Report: { Enabled: true } })),
    BadRequest,
    /Report.Path/,
  );
  await rejectsWith(
    h.fsx.send(
      new CreateDataRepositoryTaskCommand({
        ...base,
        Report: {
          Enabled: true,
          Path: 's3://other/x',
          Format: 'REPORT_CSV_20191124',
          Scope: 'FAILED_FILES_ONLY',
        },
      }),
    ),
    BadRequest,
    /inside the data repository/,
  );
  await rejectsWith(
    h.fsx.send(new CreateDataRepositoryTaskCommand({ ...base, Type: 'AUTO_RELEASE_DATA' })),
    UnsupportedOperation,
  );
  await rejectsWith(
    h.fsx.send(new CreateDataRepositoryTaskCommand({ ...base, CapacityToRelease: 5 })),
    IncompatibleParameterError,
  );
  await rejectsWith(
    h.fsx.send(
      new CreateDataRepositoryTaskCommand({
        ...base,
        ReleaseConfiguration: { DurationSinceLastAccess: { Unit: 'DAYS', Value: 1 } },
      }),
    ),
    IncompatibleParameterError,
  );
  const { DataRepositoryTask: t } = await h.fsx.send(
    new CreateDataRepositoryTaskCommand({ ...base, Paths: ['elsewhere/file'] }),
  );
  const done = await ended(t!.TaskId!);
  assert.equal(done.Lifecycle, 'FAILED');
  assert.match(done.FailureDetails!.Message!, /elsewhere\/file is not inside/);
  await rejectsWith(task('task-0123456789abcdef01'), DataRepositoryTaskNotFound);
});

test('one task at a time per file system; cancel goes CANCELING → CANCELED; an ended task cannot be canceled', async () => {
  const fs = await fileSystem();
  const { Association: a } = await create(fs, {});
  await settled(a!.AssociationId!);
  let open!: () => void;
  repos.gate = new Promise((r) => {
    open = r;
  });
  const base = {
    FileSystemId: fs.FileSystemId!,
    Type: 'RELEASE_DATA_FROM_FILESYSTEM' as const,
    Report: { Enabled: false },
  };
  const { DataRepositoryTask: t } = await h.fsx.send(new CreateDataRepositoryTaskCommand(base));
  await waitFor('EXECUTING', async () =>
    (await task(t!.TaskId!)).Lifecycle === 'EXECUTING' ? true : undefined,
  );
  await rejectsWith(h.fsx.send(new CreateDataRepositoryTaskCommand(base)), DataRepositoryTaskExecuting);
  const c = await h.fsx.send(new CancelDataRepositoryTaskCommand({ TaskId: t!.TaskId! }));
  assert.equal(c.Lifecycle, 'CANCELING');
  assert.equal((await ended(t!.TaskId!)).Lifecycle, 'CANCELED');
  repos.gate = undefined;
  open();
  await rejectsWith(
    h.fsx.send(new CancelDataRepositoryTaskCommand({ TaskId: t!.TaskId! })),
    DataRepositoryTaskEnded,
  );
  const { DataRepositoryTask: r } = await h.fsx.send(
    new CreateDataRepositoryTaskCommand({
      ...base,
      ReleaseConfiguration: { DurationSinceLastAccess: { Unit: 'DAYS', Value: 0 } },
    }),
  );
  const done = await ended(r!.TaskId!);
  assert.equal(done.Status!.ReleasedCapacity, 2048);
  assert.deepEqual(done.ReleaseConfiguration, { DurationSinceLastAccess: { Unit: 'DAYS', Value: 0 } });
});

test('associations and an interrupted task survive a restart; the task resumes and completes', async () => {
  const fs = await fileSystem();
  const { Association: a } = await create(fs, {});
  await settled(a!.AssociationId!);
  let open!: () => void;
  repos.gate = new Promise((r) => {
    open = r;
  });
  const { DataRepositoryTask: t } = await h.fsx.send(
    new CreateDataRepositoryTaskCommand({
      FileSystemId: fs.FileSystemId!,
      Type: 'EXPORT_TO_REPOSITORY',
      Report: { Enabled: false },
    }),
  );
  await waitFor('EXECUTING', async () =>
    (await task(t!.TaskId!)).Lifecycle === 'EXECUTING' ? true : undefined,
  );
  repos.gate = undefined;
  await h.restart();
  open();
  assert.equal((await dra(a!.AssociationId!)).Lifecycle, 'AVAILABLE');
  const done = await ended(t!.TaskId!);
  assert.equal(done.Lifecycle, 'SUCCEEDED');
  assert.equal(done.Status!.SucceededCount, 2);
});

test('legacy ImportPath/ExportPath/AutoImportPolicy link the file system at "/" and import at creation', async () => {
  await rejectsWith(
    h.fsx.send(
      new CreateFileSystemCommand({
        FileSystemType: 'LUSTRE',
        StorageCapacity: 1200,
        SubnetIds: [SUBNET],
        LustreConfiguration: {
          DeploymentType: 'SCRATCH_2',
          ImportPath: 's3://bucket/in',
          ExportPath: 's3://other/out',
        },
      }),
    ),
    BadRequest,
    /same S3 bucket/,
  );
  const { FileSystem: created } = await h.fsx.send(
    new CreateFileSystemCommand({
      FileSystemType: 'LUSTRE',
      StorageCapacity: 1200,
      SubnetIds: [SUBNET],
      LustreConfiguration: {
        DeploymentType: 'SCRATCH_2',
        ImportPath: 's3://bucket/in',
        AutoImportPolicy: 'NEW_CHANGED',
      },
    }),
  );
  const cfg = created!.LustreConfiguration!.DataRepositoryConfiguration!;
  assert.equal(cfg.Lifecycle, 'CREATING');
  assert.equal(cfg.ImportPath, 's3://bucket/in');
  assert.match(cfg.ExportPath!, /^s3:\/\/bucket\/FSxLustre\d{8}T\d{6}Z$/);
  assert.equal(cfg.ImportedFileChunkSize, 1024);
  const id = created!.FileSystemId!;
  await waitFor('the link AVAILABLE', async () => {
    const f = (await h.fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: [id] }))).FileSystems![0]!;
    return f.LustreConfiguration?.DataRepositoryConfiguration?.Lifecycle === 'AVAILABLE' ? f : undefined;
  });
  const { Associations } = await h.fsx.send(
    new DescribeDataRepositoryAssociationsCommand({ Filters: [{ Name: 'file-system-id', Values: [id] }] }),
  );
  assert.deepEqual(Associations, [], 'a legacy link is not an association');
  const { DataRepositoryTasks } = await h.fsx.send(
    new DescribeDataRepositoryTasksCommand({ Filters: [{ Name: 'file-system-id', Values: [id] }] }),
  );
  assert.equal(DataRepositoryTasks?.[0]?.Type, 'IMPORT_METADATA_FROM_REPOSITORY');
  await ended(DataRepositoryTasks![0]!.TaskId!);
  const { DataRepositoryTask: exp } = await h.fsx.send(
    new CreateDataRepositoryTaskCommand({
      FileSystemId: id,
      Type: 'EXPORT_TO_REPOSITORY',
      Report: { Enabled: false },
    }),
  );
  await ended(exp!.TaskId!);
  assert.equal(repos.runs.at(-1)!.scope.exportPath, cfg.ExportPath, 'exports go to the ExportPath');
});
