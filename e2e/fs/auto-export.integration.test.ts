// Automatic export through the MDS changelog, end to end: files written, renamed and deleted in a FUSE mount reach a real MinIO per AutoExportPolicy, across kill -9 of the api process and of the MDS.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import {
  CreateDataRepositoryAssociationCommand,
  CreateFileSystemCommand,
  DescribeDataRepositoryAssociationsCommand,
  DescribeFileSystemsCommand,
  FSxClient,
} from '@aws-sdk/client-fsx';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { waitFor } from '../../src/lib/wait-for.ts';
import { type MinioServer, startMinio } from '../harness/minio-server.ts';
import { type FsCluster, type ServerProcess, startFsCluster } from './fs-cluster.ts';
import { sh } from './shell.ts';

const keys = { accessKeyId: 'AKIAE2EAUTOEXPORT001', secretAccessKey: 'e2e-auto-export-secret-not-for-else' };
let minio: MinioServer;
let s3: S3Client;
let fs: FsCluster;
let api: ServerProcess;
let fsx: FSxClient;

before(async () => {
  minio = await startMinio();
  s3 = new S3Client({
    endpoint: minio.endpoint,
    region: minio.region,
    forcePathStyle: true,
    credentials: { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey },
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'autoexp' }));
  fs = await startFsCluster({ fsname: 'base' });
  api = await fs.startServer(
    'api',
    ['--role', 'api', '--mgs', fs.mgs.address, '--s3-endpoint', minio.endpoint],
    {
      ...process.env,
      NACRE_FSX_ACCESS_KEY_ID: keys.accessKeyId,
      NACRE_FSX_SECRET_ACCESS_KEY: keys.secretAccessKey,
      AWS_ACCESS_KEY_ID: minio.accessKey,
      AWS_SECRET_ACCESS_KEY: minio.secretKey,
      AWS_REGION: minio.region,
    },
  );
  fsx = new FSxClient({
    endpoint: `http://${api.address}`,
    region: 'us-east-1',
    credentials: keys,
    maxAttempts: 1,
  });
});
after(async () => {
  fsx?.destroy();
  s3?.destroy();
  await fs?.stop();
  await minio?.stop();
});

const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000) =>
  waitFor(what, probe, { timeoutMs, intervalMs: 200, retryErrors: true });

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
  const { FileSystem: created } = await fsx.send(
    new CreateFileSystemCommand({
      FileSystemType: 'LUSTRE',
      StorageCapacity: 1200,
      SubnetIds: ['subnet-0123456789abcdef0'],
      LustreConfiguration: { DeploymentType: 'PERSISTENT_2', PerUnitStorageThroughput: 125 },
    }),
  );
  const id = created!.FileSystemId!;
  const desc = await until(`${id} AVAILABLE`, async () => {
    const f = (await fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: [id] }))).FileSystems![0]!;
    return f.Lifecycle === 'AVAILABLE' ? f : undefined;
  });
  const { Association } = await fsx.send(
    new CreateDataRepositoryAssociationCommand({
      FileSystemId: id,
      FileSystemPath: '/out',
      DataRepositoryPath: 's3://autoexp/out/',
      BatchImportMetaDataOnCreate: false,
      S3: { AutoExportPolicy: { Events: ['NEW', 'CHANGED', 'DELETED'] } },
    }),
  );
  await until('association AVAILABLE', async () => {
    const a = (
      await fsx.send(
        new DescribeDataRepositoryAssociationsCommand({ AssociationIds: [Association!.AssociationId!] }),
      )
    ).Associations![0]!;
    assert.notEqual(a.Lifecycle, 'MISCONFIGURED', a.FailureDetails?.Message);
    return a.Lifecycle === 'AVAILABLE' || undefined;
  });
  const m = await fs.mount('m', { source: `${desc.DNSName}@tcp:/${desc.LustreConfiguration!.MountName}` });
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
