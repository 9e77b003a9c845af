// An export by the OSSes whose part fails: the upload is aborted only after the other parts' PUTs, still running on their OSSes, have ended (real MinIO).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { type MinioServer, startMinio } from '../../../e2e/harness/minio-server.ts';
import { startTestCluster, type TestCluster } from '../../../test/lustre/test-cluster.ts';
import { waitFor } from '../../lib/wait-for.ts';
import type { ObjectStore } from '../../platform/object-store.ts';
import { S3ObjectStore } from '../../platform/s3-object-store.ts';
import { connectLustre, type LustreClient } from '../client/lustre-client.ts';
import { HS_ARCHIVED } from '../protocol/hsm-messages.ts';
import { ROOT_CREDENTIALS } from '../types.ts';
import { exportPath } from './exporter.ts';
import type { FileOutcome, RepositoryLink } from './importer.ts';

const MiB = 1024 * 1024;
const PART = 5 * MiB;
const signal = AbortSignal.timeout(180_000);
const link: RepositoryLink = { bucket: 'out', prefix: 'p/', fsPath: '/repo', chunkBytes: 64 * MiB };
let minio: MinioServer;
let s3: S3Client;
let real: S3ObjectStore;
let cluster: TestCluster;
let agent: LustreClient;
let user: LustreClient;
let proxy: Server;

/** PUTs reaching MinIO through the proxy are held (body read, nothing forwarded) until `release`. */
const held = { count: 0, arrived: Promise.withResolvers<void>(), release: Promise.withResolvers<void>() };

before(async () => {
  minio = await startMinio();
  const credentials = { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey };
  s3 = new S3Client({ endpoint: minio.endpoint, region: minio.region, forcePathStyle: true, credentials });
  await s3.send(new CreateBucketCommand({ Bucket: 'out' }));
  real = new S3ObjectStore({ endpoint: minio.endpoint, region: minio.region, credentials, timeoutMs: 5_000 });
  const target = new URL(minio.endpoint);
  // A PUT's signature covers MinIO's host: the proxy forwards it with that Host header.
  proxy = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (b: Buffer) => body.push(b));
    req.on('end', async () => {
      held.count++;
      held.arrived.resolve();
      await held.release.promise;
      held.count--;
      const out = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host },
        },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      out.end(Buffer.concat(body));
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  cluster = await startTestCluster({ ossCount: 2, ossInChildren: true });
  const connect = () =>
    connectLustre({ mgsAddress: cluster.mgsAddress, fsname: cluster.fsname, host: 't', signal });
  agent = await connect();
  user = await connect();
  await user.mkdir(ROOT_CREDENTIALS, 1, 'repo', 0o755, signal);
});
after(async () => {
  held.release.resolve();
  await user?.close();
  await agent?.close();
  await cluster?.close();
  proxy?.close();
  real?.close();
  s3?.destroy();
  await minio?.stop();
});

test('a part failing while another is being PUT by its OSS: AbortMultipartUpload is sent after that PUT has ended, and the upload is gone', async () => {
  const dir = await user.resolvePath('/repo', signal);
  const { handle, attr } = await user.create(ROOT_CREDENTIALS, dir.ino, 'f', 0o100640, 0o1, signal);
  await user.write(handle, 0, randomBytes(2 * PART), signal);
  await user.release(handle, signal);
  const proxyAt = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  let abortedWhilePutRunning: boolean | undefined;
  const store: ObjectStore = new Proxy(real, {
    get(t, p) {
      if (p === 'presignPart')
        return async (...a: Parameters<S3ObjectStore['presignPart']>) => {
          const signed = await t.presignPart(...a);
          if (a[3] === 1) {
            const url = new URL(signed.url);
            url.host = proxyAt; // part 1's PUT is held by the proxy
            return { ...signed, url: url.toString() };
          }
          await held.arrived.promise; // part 2 fails once part 1's PUT is under way
          throw new Error('part 2 refused (this test)');
        };
      if (p === 'abortMultipart')
        return async (...a: Parameters<S3ObjectStore['abortMultipart']>) => {
          abortedWhilePutRunning ??= held.count > 0;
          held.release.resolve();
          return t.abortMultipart(...a);
        };
      const v = Reflect.get(t, p);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  // Part 1's PUT is let go once the abort comes (too early) or, when the abort rightly waits for
  // it, after 3 s without one.
  const letGo = waitFor('an abort while part 1 is held', () => abortedWhilePutRunning !== undefined, {
    timeoutMs: 3_000,
  }).catch(() => held.release.resolve());
  const outcomes: FileOutcome[] = [];
  const opts = { multipartBytes: PART, partConcurrency: 2 };
  await exportPath(
    agent,
    store,
    link,
    '/repo/f',
    opts,
    () => {},
    (o) => outcomes.push(o),
    signal,
  );
  await letGo;
  assert.equal(outcomes.length, 1);
  assert.equal(outcomes[0]!.ok, false, 'the file failed');
  assert.equal(
    abortedWhilePutRunning,
    false,
    'AbortMultipartUpload came after the PUT still running on the OSS',
  );
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'out', Prefix: 'p/f' }), {
    abortSignal: signal,
  });
  assert.deepEqual(uploads.Uploads ?? [], [], 'no upload (nor its parts) left behind');
  assert.equal((await user.mds.call('hsmState', { ino: attr.ino }, signal)).flags & HS_ARCHIVED, 0);
});
