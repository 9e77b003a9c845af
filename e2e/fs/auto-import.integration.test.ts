// Automatic import through real MinIO bucket notifications: a new, a changed and a deleted object reach a mounted file system.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FSxClient } from '@aws-sdk/client-fsx';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type MinioServer, startMinio } from '../harness/minio-server.ts';
import { freePorts } from '../harness/processes.ts';
import { type FsCluster, startFsCluster } from './fs-cluster.ts';
import {
  availableAssociation,
  availableFileSystem,
  minioClient,
  mountSource,
  startS3Api,
  until,
} from './s3-fixture.ts';
import { sh, shResult } from './shell.ts';

const keys = { accessKeyId: 'AKIAE2EAUTOIMPORT001', secretAccessKey: 'e2e-auto-import-secret-not-for-else' };
let minio: MinioServer;
let s3: S3Client;
let fs: FsCluster;
let fsx: FSxClient;

before(async () => {
  const [port] = await freePorts(1);
  minio = await startMinio({ webhooks: { nacre: `http://127.0.0.1:${port}/` } });
  s3 = minioClient(minio);
  await s3.send(new CreateBucketCommand({ Bucket: 'auto' }));
  fs = await startFsCluster({ fsname: 'base' });
  ({ fsx } = await startS3Api(fs, minio, keys, {
    args: [
      '--s3-events-listen',
      `127.0.0.1:${port}`,
      '--s3-notification-arn',
      'arn:minio:sqs::nacre:webhook',
      // No listing fallback: what arrives, arrives through the notifications.
      '--s3-listing-interval',
      '0',
    ],
  }));
});
after(async () => {
  fsx?.destroy();
  s3?.destroy();
  await fs?.stop();
  await minio?.stop();
});

test('a new, a changed and a deleted object reach the mount through bucket notifications', async () => {
  const desc = await availableFileSystem(fsx);
  const m = (await fs.mount('auto', { source: mountSource(desc) })).point;
  await availableAssociation(fsx, {
    FileSystemId: desc.FileSystemId!,
    FileSystemPath: '/in',
    DataRepositoryPath: 's3://auto/feed/',
    S3: { AutoImportPolicy: { Events: ['NEW', 'CHANGED', 'DELETED'] } },
  });
  const put = (key: string, body: string) =>
    s3.send(
      new PutObjectCommand({
        Bucket: 'auto',
        Key: key,
        Body: body,
        Metadata: { 'file-owner': '1500', 'file-group': '1600', 'file-permissions': '0100600' },
      }),
    );
  await put('feed/dir/new.txt', 'first version\n');
  const content = async (p: string) => {
    const r = await shResult(`cat ${p}`);
    return r.code === 0 ? r.stdout : undefined;
  };
  assert.equal(
    await until('the new object appears', () => content(`${m}/in/dir/new.txt`)),
    'first version\n',
  );
  assert.equal(await sh(`stat -c '%u %g %a' ${m}/in/dir/new.txt`), '1500 1600 600\n');
  await put('feed/dir/new.txt', 'second, longer version\n');
  await until('the changed object is seen', async () =>
    (await content(`${m}/in/dir/new.txt`)) === 'second, longer version\n' ? true : undefined,
  );
  await s3.send(new DeleteObjectCommand({ Bucket: 'auto', Key: 'feed/dir/new.txt' }));
  await until('the deleted object goes', async () =>
    (await shResult(`test -e ${m}/in/dir/new.txt`)).code !== 0 ? true : undefined,
  );
  assert.equal(
    (await shResult(`test -d ${m}/in/dir`)).code,
    0,
    'its directory stays (S3 has no directories to delete)',
  );
});

test('associations of two file systems on one bucket, one prefix inside the other, each get their events', async () => {
  const mounted = async (name: string, prefix: string) => {
    const f = await availableFileSystem(fsx);
    const point = (await fs.mount(name, { source: mountSource(f) })).point;
    await availableAssociation(fsx, {
      FileSystemId: f.FileSystemId!,
      FileSystemPath: '/in',
      DataRepositoryPath: `s3://auto/${prefix}`,
      S3: { AutoImportPolicy: { Events: ['NEW'] } },
    });
    return point;
  };
  const wide = await mounted('wide', 'shared/');
  const narrow = await mounted('narrow', 'shared/b/');
  await s3.send(new PutObjectCommand({ Bucket: 'auto', Key: 'shared/a1', Body: 'a1' }));
  await s3.send(new PutObjectCommand({ Bucket: 'auto', Key: 'shared/b/b1', Body: 'b1' }));
  const has = async (p: string) => ((await shResult(`cat ${p}`)).stdout === p.slice(-2) ? true : undefined);
  await until('the first association still gets its events', () => has(`${wide}/in/a1`));
  await until('the first association gets events under the second one', () => has(`${wide}/in/b/b1`));
  await until('the second association gets its events', () => has(`${narrow}/in/b1`));
  assert.equal((await shResult(`test -e ${narrow}/in/a1`)).code, 1, 'nothing from outside its prefix');
});
