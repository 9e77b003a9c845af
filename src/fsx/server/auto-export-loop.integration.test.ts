// The automatic export loop against real MGS/MDS/OSS servers and a real MinIO: a change that keeps failing is parked (its file
// kept dirty) instead of holding back later changes, and an idle agent waits on the changelog instead of polling it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type MinioServer, startMinio } from '../../../e2e/harness/minio-server.ts';
import { startTestCluster, type TestCluster } from '../../../test/lustre/test-cluster.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { connectLustre, type LustreClient } from '../../lustre/client/lustre-client.ts';
import { ensureDir } from '../../lustre/hsm/tree.ts';
import { HS_DIRTY } from '../../lustre/protocol/hsm-messages.ts';
import { ROOT_CREDENTIALS } from '../../lustre/types.ts';
import { S3ObjectStore } from '../../platform/s3-object-store.ts';
import type { DataRepositoryAssociation } from './repository-model.ts';
import { S3Repositories } from './s3-repositories.ts';

let minio: MinioServer;
let s3: S3Client;
let cluster: TestCluster;
let store: S3ObjectStore;
let repos: S3Repositories;
let user: LustreClient;
const parked: string[] = [];
/** The agent's MDS calls, by method. */
const calls = new Map<string, number>();
const signal = AbortSignal.timeout(240_000);
const connect = () =>
  connectLustre({ mgsAddress: cluster.mgsAddress, fsname: cluster.fsname, host: 't', signal });

before(async () => {
  minio = await startMinio();
  const credentials = { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey };
  s3 = new S3Client({ endpoint: minio.endpoint, region: minio.region, forcePathStyle: true, credentials });
  await s3.send(new CreateBucketCommand({ Bucket: 'loop' }));
  store = new S3ObjectStore({ endpoint: minio.endpoint, region: minio.region, credentials });
  cluster = await startTestCluster({ ossCount: 1 });
  user = await connect();
  repos = new S3Repositories({
    store,
    connect: async () => {
      const c = await connect();
      // A spy at the seam: counts what the agent asks its MDS.
      const call = c.mds.call.bind(c.mds);
      c.mds.call = ((m, a, s) => {
        calls.set(m, (calls.get(m) ?? 0) + 1);
        return call(m, a, s);
      }) as typeof c.mds.call;
      return c;
    },
    autoExportRetry: { attempts: 3, backoffMs: 100 },
    onExportParked: (id) => parked.push(id),
  });
});
after(async () => {
  await repos?.close();
  await user?.close();
  await cluster?.close();
  store?.close();
  s3?.destroy();
  await minio?.stop();
});

const association = (id: string, fsPath: string): DataRepositoryAssociation => ({
  AssociationId: id,
  ResourceARN: `arn:aws:fsx:us-east-1:123456789012:association/fs-0123/${id}`,
  FileSystemId: 'fs-0123',
  Lifecycle: 'AVAILABLE',
  FileSystemPath: fsPath,
  DataRepositoryPath: `s3://loop${fsPath}/`,
  BatchImportMetaDataOnCreate: false,
  ImportedFileChunkSize: 1024,
  S3: { AutoExportPolicy: { Events: ['NEW', 'CHANGED', 'DELETED'] } },
  Tags: [],
  CreationTime: Date.now(),
});

async function writeFile(dir: number, name: string, text: string): Promise<number> {
  const { handle, attr } = await user.create(ROOT_CREDENTIALS, dir, name, 0o100644, 0o1, signal);
  await user.write(handle, 0, Buffer.from(text), signal);
  await user.release(handle, signal);
  return attr.ino;
}
const inS3 = (key: string) =>
  waitFor(
    `s3://loop/${key}`,
    () =>
      s3.send(new HeadObjectCommand({ Bucket: 'loop', Key: key })).then(
        () => true,
        () => undefined,
      ),
    { timeoutMs: 30_000 },
  );

test('a change whose export keeps failing is parked with its file dirty; the changes after it still reach S3', async () => {
  // Directories made before the association (nothing exports them), deep enough that a file's key passes S3's 1024 bytes.
  const deep = `/out/${['a', 'b', 'c', 'd', 'e'].map((l) => l.repeat(250)).join('/')}`;
  const dir = await ensureDir(user, deep, signal);
  const a = association('dra-0123456789abcdef0', '/out');
  await repos.link(cluster.fsname, a, signal);
  repos.watch(cluster.fsname, [a]);
  const doomed = await writeFile(dir.ino, 'too-long-a-key', 'never exported');
  await writeFile((await user.resolvePath('/out', signal)).ino, 'later', 'exported');
  await inS3('out/later');
  // A rename goes alone, after every change before it: once it is in S3, the doomed file's changes were given up on.
  const out = await user.resolvePath('/out', signal);
  await user.rename(ROOT_CREDENTIALS, out.ino, 'later', out.ino, 'later-moved', 0, signal);
  await inS3('out/later-moved');
  assert.ok(parked.length > 0, 'its CLOSE (and its CREAT, if the file was closed by then) parked');
  assert.ok(
    parked.every((id) => id === a.AssociationId),
    `parked: ${parked}`,
  );
  const st = await user.mds.call('hsmState', { ino: doomed }, signal);
  assert.ok(st.flags & HS_DIRTY, 'the parked file stays dirty, for an export task or its next change');
});

test('an idle agent waits on the changelog: a handful of calls in 3 s, not one every 500 ms; a new file still goes at once', async () => {
  const before = calls.get('changelogRead') ?? 0;
  const waits = calls.get('changelogWait') ?? 0;
  await new Promise((r) => setTimeout(r, 3000)); // the idle period observed (not a synchronisation)
  const reads = (calls.get('changelogRead') ?? 0) - before;
  assert.ok(reads === 0, `${reads} changelog reads while nothing changed`);
  assert.ok((calls.get('changelogWait') ?? 0) - waits <= 1, 'one long poll covers the idle period');
  await writeFile((await user.resolvePath('/out', signal)).ino, 'after-idle', 'x');
  await inS3('out/after-idle');
});

test('a deletion parked while S3 was down still removes its key once S3 is back; a parked path taken again keeps its new key', async () => {
  const out = await user.resolvePath('/out', signal);
  await writeFile(out.ino, 'gone', 'deleted while S3 is down');
  await writeFile(out.ino, 'back', 'deleted, then made again');
  await inS3('out/gone');
  await inS3('out/back');
  const before = parked.length;
  await minio.pause();
  try {
    await user.unlink(ROOT_CREDENTIALS, out.ino, 'gone', signal);
    await user.unlink(ROOT_CREDENTIALS, out.ino, 'back', signal);
    await waitFor('both deletions parked', () => (parked.length >= before + 2 ? true : undefined), {
      timeoutMs: 60_000,
    });
  } finally {
    await minio.resume();
  }
  await writeFile(out.ino, 'back', 'the new one');
  await waitFor(
    's3://loop/out/gone removed',
    () =>
      s3.send(new HeadObjectCommand({ Bucket: 'loop', Key: 'out/gone' })).then(
        () => undefined,
        (err: { name?: string }) => (err.name === 'NotFound' ? true : undefined),
      ),
    { timeoutMs: 30_000 },
  );
  // The old key may go first (its removal retried before the new file existed): the new file's export then puts it back.
  let seen = '';
  await waitFor(
    's3://loop/out/back to hold the new file',
    () =>
      s3.send(new GetObjectCommand({ Bucket: 'loop', Key: 'out/back' })).then(
        async (r) => {
          seen = (await r.Body?.transformToString()) ?? '';
          return seen === 'the new one' ? true : undefined;
        },
        (err: { name?: string }) => (err.name === 'NoSuchKey' ? undefined : Promise.reject(err)),
      ),
    { timeoutMs: 30_000 },
  ).catch((err: unknown) => {
    throw new Error(`s3://loop/out/back holds ${JSON.stringify(seen)}: ${String(err)}`);
  });
});
