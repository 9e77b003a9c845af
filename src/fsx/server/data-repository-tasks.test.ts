// The emulator's data repository tasks over the FSx API: import at creation, counts and reports, refusals, one at a time, cancel, restart.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  BadRequest,
  CancelDataRepositoryTaskCommand,
  CreateDataRepositoryTaskCommand,
  DataRepositoryTaskEnded,
  DataRepositoryTaskExecuting,
  DataRepositoryTaskNotFound,
  DescribeDataRepositoryTasksCommand,
  IncompatibleParameterError,
  UnsupportedOperation,
} from '@aws-sdk/client-fsx';
import { rejectsWith } from '../../../test/fsx/expect.ts';
import { FakeRepositories } from '../../../test/fsx/fake-repositories.ts';
import { type Harness, startHarness, waitFor } from '../../../test/fsx/harness.ts';
import { repositoryCalls } from '../../../test/fsx/repository-calls.ts';

let h: Harness;
const repos = new FakeRepositories();

before(async () => {
  h = await startHarness({ repositories: repos });
});
after(() => h.close());

const { fileSystem, dra, settled, task, ended, create } = repositoryCalls(() => h);

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
