// Automatic export through the MDS changelog, end to end: files written, renamed and deleted in a FUSE mount reach a real MinIO per AutoExportPolicy, across kill -9 of the api process and of the MDS.

import { writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type { FSxClient } from '@aws-sdk/client-fsx';
import { CreateBucketCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type MinioServer, startMinio } from '../harness/minio-server.ts';
import { type FsCluster, type ServerProcess, startFsCluster } from './fs-cluster.ts';
import {
  availableAssociation,
  availableFileSystem,
  minioClient,
  mountSource,
  startS3Api,
  until,
} from './s3-fixture.ts';
import { sh } from './shell.ts';

const keys = { accessKeyId: 'AKIAE2EAUTOEXPORT001', secretAccessKey: 'e2e-auto-export-secret-not-for-else' };
let minio: MinioServer;
let s3: S3Client;
let fs: FsCluster;
let api: ServerProcess;
let fsx: FSxClient;

before(async () => {
  minio = await startMinio();
  s3 = minioClient(minio);
  await s3.send(new CreateBucketCommand({ Bucket: 'autoexp' }));
  fs = await startFsCluster({ fsname: 'base' });
  ({ server: api, fsx } = await startS3Api(fs, minio, keys));
});
after(async () => {
  fsx?.destroy();
  s3?.destroy();
  await fs?.stop();
  await minio?.stop();
});

/** The object's body, or undefined when there is none. */
async function body(key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: 'autoexp', Key: key }));
    return await out.Body!.transformToString();
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
    throw err;
  }
}
const holds = (key: string, text: string) =>
  until(`s3://autoexp/${key} = ${text}`, async () => (await body(key)) === text);
const gone = (key: string) =>
  until(`s3://autoexp/${key} deleted`, async () => (await body(key)) === undefined);

test('new, changed, renamed and deleted files and directories reach S3; nothing is lost across kill -9 of the api process and the MDS', async () => {
  const desc = await availableFileSystem(fsx);
  await availableAssociation(fsx, {
    FileSystemId: desc.FileSystemId!,
    FileSystemPath: '/out',
    DataRepositoryPath: 's3://autoexp/out/',
    BatchImportMetaDataOnCreate: false,
    S3: { AutoExportPolicy: { Events: ['NEW', 'CHANGED', 'DELETED'] } },
  });
  const m = await fs.mount('m', { source: mountSource(desc) });
  const at = (p: string) => `${m.point}/out/${p}`;

  await writeFile(at('a.txt'), 'one');
  await holds('out/a.txt', 'one');
  await writeFile(at('a.txt'), 'two');
  await holds('out/a.txt', 'two');
  await sh(`mv ${at('a.txt')} ${at('b.txt')}`);
  await holds('out/b.txt', 'two');
  await gone('out/a.txt');
  await sh(`mkdir ${at('d')} && printf x > ${at('d/x')}`);
  await holds('out/d/x', 'x');
  await sh(`mv ${at('d')} ${at('e')}`);
  await holds('out/e/x', 'x');
  await gone('out/d/x');
  await sh(`rm ${at('b.txt')}`);
  await gone('out/b.txt');

  // The api process dies; changes made meanwhile wait in the MDS's changelog for its restart.
  await api.kill9();
  await writeFile(at('while-api-down'), 'kept');
  await sh(`rm ${at('e/x')}`);
  await api.start();
  await holds('out/while-api-down', 'kept');
  await gone('out/e/x');

  // The MDS dies right after a change is committed: the change is in the log it restarts with.
  await writeFile(at('before-mds-crash'), 'logged');
  await fs.mds.kill9();
  await fs.mds.start();
  await holds('out/before-mds-crash', 'logged');
  await m.unmount();
});
