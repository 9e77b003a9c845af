// S3 data repositories end to end: the emulator's FSx API with a real MinIO, real servers and FUSE mounts —
// export with POSIX metadata, release, lazy load, import into a second file system, MinIO down and back.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  type CreateDataRepositoryAssociationCommandInput,
  CreateDataRepositoryTaskCommand,
  type CreateDataRepositoryTaskCommandInput,
  type DataRepositoryAssociation,
  type DataRepositoryTask,
  DescribeDataRepositoryTasksCommand,
  type FileSystem,
  type FSxClient,
} from '@aws-sdk/client-fsx';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type MinioServer, startMinio } from '../harness/minio-server.ts';
import { type FsCluster, NACRE, startFsCluster } from './fs-cluster.ts';
import {
  availableFileSystem,
  minioClient,
  mountSource,
  settledAssociation,
  startS3Api,
  until,
} from './s3-fixture.ts';
import { sh, shResult } from './shell.ts';

const nacreCli = (args: string) => `${NACRE.join(' ')} ${args}`;

const keys = { accessKeyId: 'AKIAE2EDRATEST000001', secretAccessKey: 'e2e-dra-secret-key-not-for-anything' };
let minio: MinioServer;
let s3: S3Client;
let fs: FsCluster;
let fsx: FSxClient;
let apiEndpoint: string;

before(async () => {
  minio = await startMinio();
  s3 = minioClient(minio);
  await s3.send(new CreateBucketCommand({ Bucket: 'repo' }));
  fs = await startFsCluster({ fsname: 'base' });
  const api = await startS3Api(fs, minio, keys);
  apiEndpoint = `http://${api.server.address}`;
  fsx = api.fsx;
});
after(async () => {
  fsx?.destroy();
  s3?.destroy();
  await fs?.stop();
  await minio?.stop();
});

async function mountedFileSystem(name: string): Promise<{ fs: FileSystem; mount: string }> {
  const desc = await availableFileSystem(fsx);
  return { fs: desc, mount: (await fs.mount(name, { source: mountSource(desc) })).point };
}

const association = (
  input: CreateDataRepositoryAssociationCommandInput,
): Promise<DataRepositoryAssociation> => settledAssociation(fsx, input);

async function ended(taskId: string): Promise<DataRepositoryTask> {
  return until(
    `task ${taskId} ended`,
    async () => {
      const t = (await fsx.send(new DescribeDataRepositoryTasksCommand({ TaskIds: [taskId] })))
        .DataRepositoryTasks![0]!;
      return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(t.Lifecycle!) ? t : undefined;
    },
    120_000,
  );
}

async function runTask(input: CreateDataRepositoryTaskCommandInput): Promise<DataRepositoryTask> {
  const { DataRepositoryTask: t } = await fsx.send(new CreateDataRepositoryTaskCommand(input));
  const done = await ended(t!.TaskId!);
  assert.equal(done.Lifecycle, 'SUCCEEDED', `${done.Type}: ${done.FailureDetails?.Message}`);
  return done;
}

const hsmState = (path: string) => sh(nacreCli(`lfs hsm_state ${path}`));
const stat = (path: string) => sh(`stat -c '%F %u %g %a %Y %s' ${path}`);

test('round trip: files written in a mount are exported with their metadata, released, read back lazily, and imported by a second file system identically', async () => {
  const a = await mountedFileSystem('a');
  const dra = await association({
    FileSystemId: a.fs.FileSystemId!,
    FileSystemPath: '/data',
    DataRepositoryPath: 's3://repo/ns/',
  });
  assert.equal(dra.Lifecycle, 'AVAILABLE', dra.FailureDetails?.Message);
  const d = `${a.mount}/data`;
  await sh(
    [
      `mkdir ${d}/sub`,
      `dd if=/dev/urandom of=${d}/sub/big bs=1M count=20 status=none`,
      `printf 'hello repository\\n' > ${d}/small`,
      `chown 1234:2345 ${d}/small && chmod 640 ${d}/small`,
      `touch -m -d '2020-01-02 03:04:05' ${d}/small ${d}/sub/big`,
      `ln -s sub/big ${d}/link`,
    ].join(' && '),
  );
  const bigSum = await sh(`sha256sum < ${d}/sub/big`);
  const statsBefore = [await stat(`${d}/small`), await stat(`${d}/sub/big`)];

  const exported = await runTask({
    FileSystemId: a.fs.FileSystemId!,
    Type: 'EXPORT_TO_REPOSITORY',
    Paths: ['data'],
    Report: {
      Enabled: true,
      Path: 's3://repo/ns/reports',
      Format: 'REPORT_CSV_20191124',
      Scope: 'FAILED_FILES_ONLY',
    },
  });
  assert.equal(exported.Status!.FailedCount, 0);
  assert.ok(exported.Status!.SucceededCount! >= 4, `exported ${exported.Status!.SucceededCount}`);
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'repo', Key: 'ns/small' }));
  assert.equal(head.Metadata?.['file-owner'], '1234');
  assert.equal(head.Metadata?.['file-group'], '2345');
  assert.equal(head.Metadata?.['file-permissions'], '0100640');
  const link = await s3.send(new GetObjectCommand({ Bucket: 'repo', Key: 'ns/link' }));
  assert.equal(await link.Body!.transformToString(), 'sub/big');
  const report = await s3.send(
    new GetObjectCommand({ Bucket: 'repo', Key: `ns/reports/${exported.TaskId}/failures.csv` }),
  );
  assert.equal(await report.Body!.transformToString(), '', 'no failed files in the report');
  assert.match(await hsmState(`${d}/small`), /\(0x00000009\) exists archived/);

  const used = async () =>
    Number((await sh(nacreCli(`lfs df ${a.mount}`))).match(/filesystem_summary:\s+\d+\s+(\d+)/)![1]);
  const usedBefore = await used();
  const released = await runTask({
    FileSystemId: a.fs.FileSystemId!,
    Type: 'RELEASE_DATA_FROM_FILESYSTEM',
    Paths: ['data'],
    ReleaseConfiguration: { DurationSinceLastAccess: { Unit: 'DAYS', Value: 0 } },
    Report: { Enabled: false },
  });
  assert.ok(
    released.Status!.ReleasedCapacity! >= 20 * 2 ** 20,
    `released ${released.Status!.ReleasedCapacity}`,
  );
  assert.match(await hsmState(`${d}/sub/big`), /released exists archived/);
  assert.deepEqual(
    [await stat(`${d}/small`), await stat(`${d}/sub/big`)],
    statsBefore,
    'a released file keeps its metadata',
  );
  await until('lfs df counts the released space as free', async () =>
    usedBefore - (await used()) >= 19 * 2 ** 20 ? true : undefined,
  );
  assert.equal(await sh(`sha256sum < ${d}/sub/big`), bigSum, 'read back from S3 on first access');
  assert.match(await hsmState(`${d}/sub/big`), /\(0x00000009\) exists archived/);
  assert.deepEqual(
    [await stat(`${d}/small`), await stat(`${d}/sub/big`)],
    statsBefore,
    'the restore kept mtime',
  );

  const b = await mountedFileSystem('b');
  const imported = await association({
    FileSystemId: b.fs.FileSystemId!,
    FileSystemPath: '/imported',
    DataRepositoryPath: 's3://repo/ns/',
    BatchImportMetaDataOnCreate: true,
  });
  assert.equal(imported.Lifecycle, 'AVAILABLE', imported.FailureDetails?.Message);
  const importTask = await until('the import task', async () => {
    const { DataRepositoryTasks } = await fsx.send(
      new DescribeDataRepositoryTasksCommand({
        Filters: [{ Name: 'data-repository-association-id', Values: [imported.AssociationId!] }],
      }),
    );
    return DataRepositoryTasks?.[0];
  });
  const done = await ended(importTask.TaskId!);
  assert.equal(done.Lifecycle, 'SUCCEEDED', done.FailureDetails?.Message);
  const i = `${b.mount}/imported`;
  assert.match(await hsmState(`${i}/sub/big`), /released exists archived/, 'imported as released');
  assert.deepEqual(
    [await stat(`${i}/small`), await stat(`${i}/sub/big`)],
    statsBefore,
    'owner, group, mode, mtime, size',
  );
  assert.equal(await sh(`cat ${i}/small`), 'hello repository\n');
  assert.equal(await sh(`sha256sum < ${i}/sub/big`), bigSum);
  assert.equal(await sh(`readlink ${i}/link`), 'sub/big\n');
});

test('a bucket that does not exist makes the association MISCONFIGURED, saying so', async () => {
  const c = await mountedFileSystem('c');
  const dra = await association({
    FileSystemId: c.fs.FileSystemId!,
    FileSystemPath: '/x',
    DataRepositoryPath: 's3://no-such-bucket/p/',
  });
  assert.equal(dra.Lifecycle, 'MISCONFIGURED');
  assert.match(dra.FailureDetails!.Message!, /no-such-bucket does not exist/);
});

test('wrong S3 credentials make the association MISCONFIGURED, naming the credentials', async () => {
  const bad = await startS3Api(fs, minio, keys, { name: 'api-bad-keys', s3Secret: 'not-the-minio-secret' });
  try {
    const f = await availableFileSystem(bad.fsx);
    const dra = await settledAssociation(bad.fsx, {
      FileSystemId: f.FileSystemId!,
      FileSystemPath: '/x',
      DataRepositoryPath: 's3://repo/x/',
    });
    assert.equal(dra.Lifecycle, 'MISCONFIGURED');
    assert.match(dra.FailureDetails!.Message!, /refused the emulator's credentials.*Fix the S3 access key/);
  } finally {
    bad.fsx.destroy();
    await bad.server.stop();
  }
});

test('the AWS CLI drives associations and tasks with --endpoint-url', async () => {
  const f = await mountedFileSystem('cli');
  await sh(`mkdir -p ${f.mount}/cli && echo from-cli > ${f.mount}/cli/f`);
  const endpoint = apiEndpoint;
  const env = `AWS_ACCESS_KEY_ID=${keys.accessKeyId} AWS_SECRET_ACCESS_KEY=${keys.secretAccessKey} AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=''`;
  const aws = async (args: string) =>
    JSON.parse(
      await sh(`${env} aws fsx ${args} --endpoint-url ${endpoint} --region us-east-1 --output json`),
    ) as unknown;
  const created = (await aws(
    `create-data-repository-association --file-system-id ${f.fs.FileSystemId} --file-system-path /cli --data-repository-path s3://repo/cli/`,
  )) as { Association: { AssociationId: string; Lifecycle: string } };
  assert.equal(created.Association.Lifecycle, 'CREATING');
  await until('AVAILABLE', async () => {
    const d = (await aws(
      `describe-data-repository-associations --association-ids ${created.Association.AssociationId}`,
    )) as {
      Associations: { Lifecycle: string }[];
    };
    return d.Associations[0]!.Lifecycle === 'AVAILABLE' ? true : undefined;
  });
  const task = (await aws(
    `create-data-repository-task --file-system-id ${f.fs.FileSystemId} --type EXPORT_TO_REPOSITORY --paths cli --report Enabled=false`,
  )) as { DataRepositoryTask: { TaskId: string } };
  const done = await ended(task.DataRepositoryTask.TaskId);
  assert.equal(done.Lifecycle, 'SUCCEEDED', done.FailureDetails?.Message);
  const obj = await s3.send(new GetObjectCommand({ Bucket: 'repo', Key: 'cli/f' }));
  assert.equal(await obj.Body!.transformToString(), 'from-cli\n');
});

test('with MinIO down a lazy load fails with EIO, and the same read works once MinIO is back', async () => {
  const e = await mountedFileSystem('e');
  await association({
    FileSystemId: e.fs.FileSystemId!,
    FileSystemPath: '/r',
    DataRepositoryPath: 's3://repo/outage/',
  });
  await sh(`dd if=/dev/urandom of=${e.mount}/r/f bs=1M count=3 status=none`);
  const sum = await sh(`sha256sum < ${e.mount}/r/f`);
  await runTask({
    FileSystemId: e.fs.FileSystemId!,
    Type: 'EXPORT_TO_REPOSITORY',
    Report: { Enabled: false },
  });
  await sh(nacreCli(`lfs hsm_release ${e.mount}/r/f`));
  await minio.pause();
  try {
    const r = await shResult(`cat ${e.mount}/r/f > /dev/null`, 90_000);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Input\/output error/);
    assert.match(await hsmState(`${e.mount}/r/f`), /released/, 'still released: nothing partial was served');
  } finally {
    await minio.resume();
  }
  assert.equal(await sh(`sha256sum < ${e.mount}/r/f`), sum);
});
