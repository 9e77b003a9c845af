import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { type MinioServer, startMinio } from '../../e2e/harness/minio-server.ts';
import { isObjectStoreError, type ObjectStore } from './object-store.ts';
import { S3ObjectStore } from './s3-object-store.ts';

let minio: MinioServer;
let store: S3ObjectStore;
const BUCKET = 'contract';
const signal = AbortSignal.timeout(120_000);

before(async () => {
  minio = await startMinio();
  const creds = { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey };
  store = new S3ObjectStore({
    endpoint: minio.endpoint,
    region: minio.region,
    credentials: creds,
    timeoutMs: 5_000,
  });
  const admin = new S3Client({
    endpoint: minio.endpoint,
    region: minio.region,
    forcePathStyle: true,
    credentials: creds,
  });
  await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
  admin.destroy();
});
after(async () => {
  store?.close();
  await minio?.stop();
});

async function keys(s: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of s.list(BUCKET, prefix, signal)) out.push(o.key);
  return out;
}

test('put, head with user metadata, ranged get, list in key order, delete', async () => {
  const body = randomBytes(100_000);
  const etag = await store.put(
    BUCKET,
    'dir/a',
    body,
    { 'file-owner': '1000', 'file-permissions': '0100644' },
    signal,
  );
  assert.ok(etag.length > 0);
  await store.put(BUCKET, 'dir/b/', Buffer.alloc(0), {}, signal);
  await store.put(BUCKET, 'other', Buffer.from('x'), {}, signal);
  const h = await store.head(BUCKET, 'dir/a', signal);
  assert.equal(h?.size, 100_000);
  assert.equal(h?.metadata['file-owner'], '1000');
  assert.equal(h?.metadata['file-permissions'], '0100644');
  assert.ok(Math.abs(h!.mtimeMs - Date.now()) < 60_000);
  assert.deepEqual(await store.getRange(BUCKET, 'dir/a', 99_990, 100, signal), body.subarray(99_990));
  assert.deepEqual(await store.getRange(BUCKET, 'dir/a', 10, 20, signal), body.subarray(10, 30));
  assert.deepEqual(await keys(store, 'dir/'), ['dir/a', 'dir/b/']);
  await store.delete(BUCKET, 'dir/a', signal);
  await store.delete(BUCKET, 'dir/a', signal);
  assert.equal(await store.head(BUCKET, 'dir/a', signal), undefined);
  await assert.rejects(store.getRange(BUCKET, 'dir/a', 0, 10, signal), (e) =>
    isObjectStoreError(e, 'NoSuchKey'),
  );
});

test('a multipart upload stores the parts in order with the metadata', async () => {
  const size = 5 * 1024 * 1024 * 2 + 12345;
  const data = randomBytes(size);
  await store.putMultipart(
    BUCKET,
    'big',
    size,
    async (off, len) => data.subarray(off, off + len),
    { 'file-mtime': '1700000000000000000ns' },
    { partSize: 5 * 1024 * 1024, concurrency: 3 },
    signal,
  );
  const h = await store.head(BUCKET, 'big', signal);
  assert.equal(h?.size, size);
  assert.equal(h?.metadata['file-mtime'], '1700000000000000000ns');
  assert.deepEqual(await store.getRange(BUCKET, 'big', 0, size, signal), data);
});

test('a list of more than one page returns every key', async () => {
  await Promise.all(
    Array.from({ length: 1005 }, (_, i) =>
      store.put(BUCKET, `many/${String(i).padStart(4, '0')}`, Buffer.alloc(1), {}, signal),
    ),
  );
  const all = await keys(store, 'many/');
  assert.equal(all.length, 1005);
  assert.equal(all[1004], 'many/1004');
});

test('a missing bucket, wrong credentials and a server that is down are told apart', async () => {
  await store.checkBucket(BUCKET, signal);
  await assert.rejects(store.checkBucket('no-such-bucket', signal), (e) =>
    isObjectStoreError(e, 'NoSuchBucket'),
  );
  const wrong = new S3ObjectStore({
    endpoint: minio.endpoint,
    region: minio.region,
    credentials: { accessKeyId: minio.accessKey, secretAccessKey: 'wrong-secret-0000' },
  });
  await assert.rejects(
    (async () => {
      for await (const _ of wrong.list(BUCKET, '', signal));
    })(),
    (e) => isObjectStoreError(e, 'InvalidCredentials'),
  );
  await assert.rejects(
    wrong.checkBucket(BUCKET, signal),
    (e) => isObjectStoreError(e, 'InvalidCredentials'),
    'a HEAD refused for bad credentials is told apart from a denied bucket',
  );
  wrong.close();
  const down = new S3ObjectStore({
    endpoint: 'http://127.0.0.1:1',
    region: minio.region,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    timeoutMs: 2_000,
  });
  await assert.rejects(down.checkBucket(BUCKET, signal), (e) => isObjectStoreError(e, 'Unavailable'));
  down.close();
});

test('uploads carry a CRC-32 instead of a signed SHA-256, and S3 refuses bytes changed on the way', async () => {
  const s3 = new S3Client({
    endpoint: minio.endpoint,
    region: minio.region,
    forcePathStyle: true,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey },
  });
  let corrupt = false;
  const signed: string[] = [];
  // The network flips a byte of the body after the store computed its checksum.
  s3.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { headers: Record<string, string>; body?: unknown };
      signed.push(req.headers['x-amz-content-sha256'] ?? '');
      if (corrupt && Buffer.isBuffer(req.body) && req.body.length > 0) {
        const copy = Buffer.from(req.body);
        copy[copy.length >> 1]! ^= 0x01;
        req.body = copy;
      }
      return next(args);
    },
    { step: 'build', name: 'testCorruptBody', priority: 'low' },
  );
  const flaky = new S3ObjectStore({ region: minio.region }, s3);
  const body = randomBytes(64 * 1024);
  await flaky.put(BUCKET, 'crc/ok', body, {}, signal);
  assert.deepEqual(await store.getRange(BUCKET, 'crc/ok', 0, body.length, signal), body);
  assert.deepEqual(signed, ['UNSIGNED-PAYLOAD']);
  corrupt = true;
  await assert.rejects(flaky.put(BUCKET, 'crc/bad', body, {}, signal), (e) =>
    isObjectStoreError(e, 'Invalid'),
  );
  assert.equal(await store.head(BUCKET, 'crc/bad', signal), undefined);
  const big = randomBytes(5 * 1024 * 1024 + 1);
  await assert.rejects(
    flaky.putMultipart(
      BUCKET,
      'crc/big',
      big.length,
      async (off, len) => big.subarray(off, off + len),
      {},
      { partSize: 5 * 1024 * 1024, concurrency: 2 },
      signal,
    ),
    (e) => isObjectStoreError(e, 'Invalid'),
  );
  assert.equal(await store.head(BUCKET, 'crc/big', signal), undefined);
  flaky.close();
});
