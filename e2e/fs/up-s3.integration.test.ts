// `nacre up --s3-endpoint` end to end through the command line only: up, the AWS CLI makes a file system and an association with a real MinIO, `nacre mount`, a lazy read of an imported object, an export task, `nacre lfs hsm_state`.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { waitFor as waitForCondition } from '../../src/lib/wait-for.ts';
import { type MinioServer, startMinio } from '../harness/minio-server.ts';
import { NACRE } from './fs-cluster.ts';
import { minioClient } from './s3-fixture.ts';
import { type Held, hold, run, sh } from './shell.ts';
import { upArgs } from './up-process.ts';

let dir: string;
let minio: MinioServer;
let s3: S3Client;
let up: Held | undefined;
let mount: Held | undefined;
const waitFor = <T>(what: string, check: () => Promise<T>, timeoutMs: number) =>
  waitForCondition(what, check, { timeoutMs, intervalMs: 200 });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-up-s3-'));
  minio = await startMinio();
  s3 = minioClient(minio);
  await s3.send(new CreateBucketCommand({ Bucket: 'up-repo' }));
  await s3.send(new PutObjectCommand({ Bucket: 'up-repo', Key: 'in/hello.txt', Body: 'hello from S3\n' }));
});
after(async () => {
  await mount?.kill();
  await up?.kill();
  await run(['umount', '-l', join(dir, 'fsx')], { timeoutMs: 10_000 });
  await run(['umount', '-l', join(dir, 'mnt')], { timeoutMs: 10_000 });
  s3?.destroy();
  await minio?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('nacre up --s3-endpoint: the AWS CLI associates a bucket, a mount reads an object lazily, an export task writes a file back', async () => {
  up = hold([
    'env',
    `AWS_ACCESS_KEY_ID=${minio.accessKey}`,
    `AWS_SECRET_ACCESS_KEY=${minio.secretKey}`,
    `AWS_REGION=${minio.region}`,
    ...NACRE,
    ...upArgs(dir),
    '--s3-endpoint',
    minio.endpoint,
  ]);
  await up.waitForLine(/Press Ctrl-C/, 120_000);
  const text = up.lines.join('\n');
  const endpoint = /FSx API\s+(\S+)/.exec(text)?.[1];
  const keys = /export (AWS_ACCESS_KEY_ID=\S+ AWS_SECRET_ACCESS_KEY=\S+)/.exec(text)?.[1];
  const keyFile = /--data-plane-key-file (\S+)/.exec(text)?.[1];
  assert.ok(
    endpoint && keys && keyFile,
    `the summary names the FSx API, its keys and the data-plane key:\n${text}`,
  );
  const env = `${keys} AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=''`;
  const aws = async (args: string) =>
    JSON.parse(await sh(`${env} aws fsx ${args} --endpoint-url ${endpoint} --output json`)) as Record<
      string,
      unknown
    >;

  const created = (await aws(
    'create-file-system --file-system-type LUSTRE --storage-capacity 1200 --subnet-ids subnet-0123456789abcdef0 --lustre-configuration DeploymentType=PERSISTENT_2,PerUnitStorageThroughput=125',
  )) as { FileSystem: { FileSystemId: string } };
  const id = created.FileSystem.FileSystemId;
  type Fs = { Lifecycle: string; DNSName: string; LustreConfiguration: { MountName: string } };
  const fs = await waitFor(
    `${id} AVAILABLE`,
    async () => {
      const f = ((await aws(`describe-file-systems --file-system-ids ${id}`)) as { FileSystems: Fs[] })
        .FileSystems[0]!;
      return f.Lifecycle === 'AVAILABLE' ? f : undefined;
    },
    60_000,
  );
  const point = join(dir, 'fsx');
  await sh(`mkdir -p ${point}`);
  mount = hold([
    ...NACRE,
    'mount',
    '--foreground',
    '--data-plane-key-file',
    keyFile,
    `${fs.DNSName}@tcp:/${fs.LustreConfiguration.MountName}`,
    point,
  ]);
  await waitFor(
    'the mount answers',
    async () => (await run(['stat', '-f', '-c', '%T', point])).stdout.includes('fuse'),
    60_000,
  );

  const dra = (await aws(
    `create-data-repository-association --file-system-id ${id} --file-system-path /repo --data-repository-path s3://up-repo/in/ --batch-import-meta-data-on-create`,
  )) as { Association: { AssociationId: string } };
  await waitFor(
    'association AVAILABLE',
    async () => {
      const d = (await aws(
        `describe-data-repository-associations --association-ids ${dra.Association.AssociationId}`,
      )) as {
        Associations: { Lifecycle: string; FailureDetails?: { Message: string } }[];
      };
      const a = d.Associations[0]!;
      assert.notEqual(a.Lifecycle, 'MISCONFIGURED', a.FailureDetails?.Message);
      return a.Lifecycle === 'AVAILABLE' || undefined;
    },
    60_000,
  );
  const state = () =>
    sh(`NACRE_DATA_PLANE_KEY_FILE=${keyFile} ${NACRE.join(' ')} lfs hsm_state ${point}/repo/hello.txt`);
  await waitFor(
    'the object imported',
    async () => (await run(['test', '-e', `${point}/repo/hello.txt`])).code === 0,
    60_000,
  );
  assert.match(await state(), /released exists archived/);
  assert.equal(await sh(`cat ${point}/repo/hello.txt`), 'hello from S3\n');

  await sh(`printf 'written in the mount\\n' > ${point}/repo/back.txt`);
  const task = (await aws(
    `create-data-repository-task --file-system-id ${id} --type EXPORT_TO_REPOSITORY --paths repo/back.txt --report Enabled=false`,
  )) as { DataRepositoryTask: { TaskId: string } };
  await waitFor(
    'export task SUCCEEDED',
    async () => {
      const t = (await aws(
        `describe-data-repository-tasks --task-ids ${task.DataRepositoryTask.TaskId}`,
      )) as {
        DataRepositoryTasks: { Lifecycle: string }[];
      };
      const l = t.DataRepositoryTasks[0]!.Lifecycle;
      assert.ok(!['FAILED', 'CANCELED'].includes(l), l);
      return l === 'SUCCEEDED' || undefined;
    },
    60_000,
  );
  const out = await s3.send(new GetObjectCommand({ Bucket: 'up-repo', Key: 'in/back.txt' }));
  assert.equal(await out.Body!.transformToString(), 'written in the mount\n');
  assert.match(
    await sh(`NACRE_DATA_PLANE_KEY_FILE=${keyFile} ${NACRE.join(' ')} lfs hsm_state ${point}/repo/back.txt`),
    /exists archived/,
  );
});
