// Automatic export of metadata-only changes (chmod, chown, utimes) through the MDS changelog's SATTR records: the object's
// x-amz-meta-file-* follow (CopyObject onto itself), for a clean file and a released one, whose content stays as it was.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type { FSxClient } from '@aws-sdk/client-fsx';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type MinioServer, startMinio } from '../harness/minio-server.ts';
import { type FsCluster, NACRE, startFsCluster } from './fs-cluster.ts';
import {
  availableAssociation,
  availableFileSystem,
  minioClient,
  mountSource,
  startS3Api,
  until,
} from './s3-fixture.ts';
import { sh } from './shell.ts';

const keys = { accessKeyId: 'AKIAE2EAUTOEXPATTRS1', secretAccessKey: 'e2e-auto-export-attrs-not-for-else' };
let minio: MinioServer;
let s3: S3Client;
let fs: FsCluster;
let fsx: FSxClient;

before(async () => {
  minio = await startMinio();
  s3 = minioClient(minio);
  await s3.send(new CreateBucketCommand({ Bucket: 'attrs' }));
  fs = await startFsCluster({ fsname: 'attrs' });
  ({ fsx } = await startS3Api(fs, minio, keys));
});
after(async () => {
  fsx?.destroy();
  s3?.destroy();
  await fs?.stop();
  await minio?.stop();
});

const meta = async (key: string) =>
  (await s3.send(new HeadObjectCommand({ Bucket: 'attrs', Key: key }))).Metadata ?? {};
const metaIs = (key: string, want: Record<string, string>) =>
  until(`s3://attrs/${key} metadata ${JSON.stringify(want)}`, async () => {
    const m = await meta(key).catch(() => ({}) as Record<string, string>);
    return Object.entries(want).every(([k, v]) => m[k] === v) ? m : undefined;
  });
const body = async (key: string) =>
  (await s3.send(new GetObjectCommand({ Bucket: 'attrs', Key: key }))).Body!.transformToString();

test('chmod, chown and utimes of exported files reach their objects metadata under AutoExportPolicy CHANGED, released files too', async () => {
  const desc = await availableFileSystem(fsx);
  await availableAssociation(fsx, {
    FileSystemId: desc.FileSystemId!,
    FileSystemPath: '/out',
    DataRepositoryPath: 's3://attrs/out/',
    BatchImportMetaDataOnCreate: false,
    S3: { AutoExportPolicy: { Events: ['NEW', 'CHANGED'] } },
  });
  const m = await fs.mount('m', { source: mountSource(desc) });
  const at = (p: string) => `${m.point}/out/${p}`;

  await writeFile(at('clean'), 'clean content');
  await writeFile(at('released'), 'released content');
  await sh(`mkdir ${at('dir')}`);
  await metaIs('out/clean', { 'file-permissions': '0100644' });
  await metaIs('out/released', { 'file-permissions': '0100644' });
  await metaIs('out/dir/', { 'file-permissions': '040755' });
  await sh(`${NACRE.join(' ')} lfs hsm_release ${at('released')}`);

  await sh(`chmod 600 ${at('clean')} && chown 1234:5678 ${at('clean')}`);
  await sh(`touch -m -d '2020-01-02T03:04:05Z' ${at('released')} && chmod 640 ${at('released')}`);
  await sh(`chmod 700 ${at('dir')}`);
  await metaIs('out/clean', { 'file-permissions': '0100600', 'file-owner': '1234', 'file-group': '5678' });
  await metaIs('out/released', {
    'file-permissions': '0100640',
    'file-mtime': `${BigInt(Date.UTC(2020, 0, 2, 3, 4, 5)) * 1_000_000n}ns`,
  });
  await metaIs('out/dir/', { 'file-permissions': '040700' });
  // Metadata only: the content is what it was, and the released file still reads it back (its ETag follows the copy).
  assert.equal(await body('out/clean'), 'clean content');
  assert.equal(await body('out/released'), 'released content');
  assert.match(await sh(`${NACRE.join(' ')} lfs hsm_state ${at('released')}`), /released/);
  assert.equal(await sh(`cat ${at('released')}`), 'released content');
  await m.unmount();
});
