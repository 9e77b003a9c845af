// Restores whose bytes the OSSes fetch from a real MinIO themselves (presigned ranged GETs): the agent's process receives none of them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { MinioServer } from '../../../e2e/harness/minio-server.ts';
import { type S3Cluster, startS3Cluster, storeWith } from '../../../test/lustre/s3-cluster.ts';
import { FsError } from '../../lib/errors.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { isObjectStoreError } from '../../platform/object-store.ts';
import type { S3ObjectStore } from '../../platform/s3-object-store.ts';
import type { LustreClient } from '../client/lustre-client.ts';
import { HS_RELEASED } from '../protocol/hsm-messages.ts';
import { ROOT_CREDENTIALS } from '../types.ts';
import { importPrefix, type RepositoryLink } from './importer.ts';
import { runRestorer } from './restorer.ts';

const MiB = 1024 * 1024;
let env: S3Cluster;
let minio: MinioServer;
let s3: S3Client;
let agent: LustreClient;
let user: LustreClient;
let real: S3ObjectStore;
/** The agent's store: it may list, head and presign, but a GET of object bytes through it fails the restore. */
let agentGets = 0;
let store: S3ObjectStore;
const stop = new AbortController();
let loop: Promise<void>;
const signal = AbortSignal.timeout(180_000);
const link: RepositoryLink = { bucket: 'restore', prefix: 'p/', fsPath: '/repo', chunkBytes: MiB };
const noop = () => {};

before(async () => {
  // OSSes in their own processes: bytes they fetch reach no process but theirs.
  env = await startS3Cluster({ bucket: 'restore', ossInChildren: true, registerAgent: true, signal });
  ({ minio, s3, store: real, agent, user } = env);
  store = storeWith(real, {
    getRange: async () => {
      agentGets++;
      throw new Error('the agent GETs object bytes itself');
    },
  });
  loop = runRestorer(agent, store, { partBytes: 512 * 1024, attempts: 2 }, stop.signal);
});
after(async () => {
  stop.abort();
  await loop;
  await env?.close();
});

async function put(name: string, body: Buffer): Promise<number> {
  await s3.send(new PutObjectCommand({ Bucket: 'restore', Key: `p/${name}`, Body: body }));
  await importPrefix(agent, store, link, name, noop, noop, signal);
  return (await user.resolvePath(`/repo/${name}`, signal)).ino;
}

async function readWhole(ino: number): Promise<Buffer> {
  const h = await user.open(ROOT_CREDENTIALS, ino, 0, signal);
  try {
    const { size } = await user.getattr(ino, signal);
    return await user.read(h, 0, size + 1, signal);
  } finally {
    await user.release(h, signal);
  }
}

const released = async (ino: number) =>
  ((await user.mds.call('hsmState', { ino }, signal)).flags & HS_RELEASED) !== 0;

test('a file striped over two OSTs loads with every byte fetched by the OSSes, none by the agent', async () => {
  const data = randomBytes(3 * MiB + 4321);
  const ino = await put('striped', data);
  assert.equal((await user.getstripe(ino, signal)).layout?.stripeCount, 2, '1 MiB chunks over 2 OSTs');
  assert.ok((await readWhole(ino)).equals(data), 'every byte, in place');
  await waitFor('the file no longer released', async () => !(await released(ino)), { signal });
  assert.equal(agentGets, 0, 'no GET of object bytes by the agent');
  assert.ok((await readWhole(ino)).equals(data), 'read again from the OSTs');
});

test('an object changed in S3 since its import fails the restore with EIO; imported again, it loads the new content', async () => {
  const old = randomBytes(MiB);
  const ino = await put('changed', old);
  const changed = randomBytes(MiB); // same size: only the ETag tells
  await s3.send(new PutObjectCommand({ Bucket: 'restore', Key: 'p/changed', Body: changed }));
  await assert.rejects(readWhole(ino), (e) => e instanceof FsError && e.code === 'EIO');
  assert.equal(await released(ino), true, 'still released: nothing of the new object served as the old');
  await importPrefix(agent, store, link, 'changed', noop, noop, signal);
  assert.ok((await readWhole(ino)).equals(changed), 'the new content after the import');
});

test('with MinIO down the read fails with EIO after the bounded retry, and works once MinIO is back', async () => {
  const data = randomBytes(MiB + 7);
  const ino = await put('down', data);
  await minio.pause();
  try {
    await assert.rejects(readWhole(ino), (e) => e instanceof FsError && e.code === 'EIO');
    assert.equal(await released(ino), true);
  } finally {
    await minio.resume();
  }
  assert.ok((await readWhole(ino)).equals(data));
});

test('a presigned GET is bound to its range and ETag: another range or a wrong ETag is refused by S3', async () => {
  await s3.send(
    new PutObjectCommand({ Bucket: 'restore', Key: 'p/signed', Body: Buffer.from('0123456789') }),
  );
  const etag = (await real.head('restore', 'p/signed', signal))!.etag;
  const p = await real.presignRange('restore', 'p/signed', 2, 3, etag, 60);
  const ok = await fetch(p.url, { headers: p.headers, signal });
  assert.equal(ok.status, 206);
  assert.equal(await ok.text(), '234');
  const otherRange = await fetch(p.url, { headers: { ...p.headers, range: 'bytes=0-9' }, signal });
  assert.equal(otherRange.status, 403, 'the range is signed');
  await otherRange.body?.cancel();
  const stale = await real.presignRange('restore', 'p/signed', 2, 3, '"0000"', 60);
  const refused = await fetch(stale.url, { headers: stale.headers, signal });
  assert.equal(refused.status, 412, 'If-Match: a changed object is not served');
  await refused.body?.cancel();
  // The agent's own GET (--s3-restore-by agent) asks the same of S3.
  assert.equal((await real.getRange('restore', 'p/signed', 2, 3, signal, etag)).toString(), '234');
  await assert.rejects(
    real.getRange('restore', 'p/signed', 2, 3, signal, '"0000"'),
    (e) => isObjectStoreError(e, 'Invalid') && /no longer the version/.test(e.message),
  );
});
