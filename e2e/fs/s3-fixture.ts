// What the S3 data repository e2e tests share: an S3 client of the harness MinIO, an FSx api process on it, a file system and an association made through the FSx API and waited for.
import assert from 'node:assert/strict';
import {
  CreateDataRepositoryAssociationCommand,
  type CreateDataRepositoryAssociationCommandInput,
  CreateFileSystemCommand,
  type DataRepositoryAssociation,
  DescribeDataRepositoryAssociationsCommand,
  DescribeFileSystemsCommand,
  type FileSystem,
  FSxClient,
} from '@aws-sdk/client-fsx';
import { S3Client } from '@aws-sdk/client-s3';
import { waitFor } from '../../src/lib/wait-for.ts';
import type { MinioServer } from '../harness/minio-server.ts';
import type { FsCluster, ServerProcess } from './fs-cluster.ts';

/** Waits up to `timeoutMs` for `probe` to return something, checking every 200 ms. */
export const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000) =>
  waitFor(what, probe, { timeoutMs, intervalMs: 200 });

/** An S3 client of MinIO's root user (path-style). */
export function minioClient(minio: MinioServer): S3Client {
  return new S3Client({
    endpoint: minio.endpoint,
    region: minio.region,
    forcePathStyle: true,
    credentials: { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey },
  });
}

export interface S3Api {
  server: ServerProcess;
  fsx: FSxClient;
}

/**
 * Starts `nacre server --role api` on `fs`'s MGS against MinIO, with FSx API keys `keys` and
 * MinIO's credentials in the AWS_* variables (`s3Secret` overrides the secret), plus `args`.
 */
export async function startS3Api(
  fs: FsCluster,
  minio: MinioServer,
  keys: { accessKeyId: string; secretAccessKey: string },
  opts: { name?: string; args?: string[]; s3Secret?: string } = {},
): Promise<S3Api> {
  const server = await fs.startServer(
    opts.name ?? 'api',
    ['--role', 'api', '--mgs', fs.mgs.address, '--s3-endpoint', minio.endpoint, ...(opts.args ?? [])],
    {
      ...process.env,
      NACRE_FSX_ACCESS_KEY_ID: keys.accessKeyId,
      NACRE_FSX_SECRET_ACCESS_KEY: keys.secretAccessKey,
      AWS_ACCESS_KEY_ID: minio.accessKey,
      AWS_SECRET_ACCESS_KEY: opts.s3Secret ?? minio.secretKey,
      AWS_REGION: minio.region,
    },
  );
  const fsx = new FSxClient({
    endpoint: `http://${server.address}`,
    region: 'us-east-1',
    credentials: keys,
    maxAttempts: 1,
  });
  return { server, fsx };
}

/** A PERSISTENT_2 file system made through the FSx API, once AVAILABLE. */
export async function availableFileSystem(fsx: FSxClient): Promise<FileSystem> {
  const created = await fsx.send(
    new CreateFileSystemCommand({
      FileSystemType: 'LUSTRE',
      StorageCapacity: 1200,
      SubnetIds: ['subnet-0123456789abcdef0'],
      LustreConfiguration: { DeploymentType: 'PERSISTENT_2', PerUnitStorageThroughput: 125 },
    }),
  );
  const id = created.FileSystem!.FileSystemId!;
  return until(`${id} AVAILABLE`, async () => {
    const f = (await fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: [id] }))).FileSystems![0]!;
    assert.notEqual(f.Lifecycle, 'FAILED', f.FailureDetails?.Message);
    return f.Lifecycle === 'AVAILABLE' ? f : undefined;
  });
}

/** `nacre mount`'s source of a file system the FSx API describes. */
export const mountSource = (f: FileSystem) => `${f.DNSName}@tcp:/${f.LustreConfiguration!.MountName}`;

/** Creates an association and waits until it left CREATING (AVAILABLE, MISCONFIGURED…). */
export async function settledAssociation(
  fsx: FSxClient,
  input: CreateDataRepositoryAssociationCommandInput,
): Promise<DataRepositoryAssociation> {
  const { Association } = await fsx.send(new CreateDataRepositoryAssociationCommand(input));
  return until('association settled', async () => {
    const a = (
      await fsx.send(
        new DescribeDataRepositoryAssociationsCommand({ AssociationIds: [Association!.AssociationId!] }),
      )
    ).Associations![0]!;
    return a.Lifecycle === 'CREATING' ? undefined : a;
  });
}

/** Like settledAssociation, and asserts it is AVAILABLE (the failure message otherwise). */
export async function availableAssociation(
  fsx: FSxClient,
  input: CreateDataRepositoryAssociationCommandInput,
): Promise<DataRepositoryAssociation> {
  const a = await settledAssociation(fsx, input);
  assert.equal(a.Lifecycle, 'AVAILABLE', a.FailureDetails?.Message);
  return a;
}
