// The emulator's data repository associations over the FSx API: lifecycles, refusals, updates, deletes, legacy links.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  BadRequest,
  CreateDataRepositoryTaskCommand,
  CreateFileSystemCommand,
  DataRepositoryAssociationNotFound,
  DeleteDataRepositoryAssociationCommand,
  DescribeDataRepositoryAssociationsCommand,
  DescribeDataRepositoryTasksCommand,
  DescribeFileSystemsCommand,
  FileSystemNotFound,
  UpdateDataRepositoryAssociationCommand,
} from '@aws-sdk/client-fsx';
import { rejectsWith } from '../../../test/fsx/expect.ts';
import { FakeRepositories } from '../../../test/fsx/fake-repositories.ts';
import { type Harness, SUBNET, startHarness, waitFor } from '../../../test/fsx/harness.ts';
import { repositoryCalls } from '../../../test/fsx/repository-calls.ts';

let h: Harness;
const repos = new FakeRepositories();

before(async () => {
  h = await startHarness({ repositories: repos });
});
after(() => h.close());

const { fileSystem, dra, settled, ended, create } = repositoryCalls(() => h);

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
