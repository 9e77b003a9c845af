// An export by the OSSes whose part fails: the upload is aborted only after the other parts' PUTs, still running on their OSSes, have ended (real MinIO).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { type S3Cluster, startS3Cluster, storeWith } from '../../../test/lustre/s3-cluster.ts';
import { waitFor } from '../../lib/wait-for.ts';
import type { ObjectStore } from '../../platform/object-store.ts';
import type { S3ObjectStore } from '../../platform/s3-object-store.ts';
import type { LustreClient } from '../client/lustre-client.ts';
import { HS_ARCHIVED } from '../protocol/hsm-messages.ts';
import { ROOT_CREDENTIALS } from '../types.ts';
import { exportPath } from './exporter.ts';
import type { FileOutcome, RepositoryLink } from './importer.ts';

const MiB = 1024 * 1024;
const PART = 5 * MiB;
const signal = AbortSignal.timeout(180_000);
const link: RepositoryLink = { bucket: 'out', prefix: 'p/', fsPath: '/repo', chunkBytes: 64 * MiB };
let env: S3Cluster;
let s3: S3Client;
let real: S3ObjectStore;
let agent: LustreClient;
let user: LustreClient;
let proxy: Server;

/** PUTs reaching MinIO through the proxy are held (body read, nothing forwarded) until `release`. */
const held = { count: 0, arrived: Promise.withResolvers<void>(), release: Promise.withResolvers<void>() };

before(async () => {
  env = await startS3Cluster({ bucket: 'out', ossInChildren: true, signal });
  ({ s3, store: real, agent, user } = env);
  const target = new URL(env.minio.endpoint);
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
  await user.mkdir(ROOT_CREDENTIALS, 1, 'repo', 0o755, signal);
});
after(async () => {
  held.release.resolve();
  proxy?.close();
  await env?.close();
});

test('a part failing while another is being PUT by its OSS: AbortMultipartUpload is sent after that PUT has ended, and the upload is gone', async () => {
  const dir = await user.resolvePath('/repo', signal);
  const { handle, attr } = await user.create(ROOT_CREDENTIALS, dir.ino, 'f', 0o100640, 0o1, signal);
  await user.write(handle, 0, randomBytes(2 * PART), signal);
  await user.release(handle, signal);
  const proxyAt = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  let abortedWhilePutRunning: boolean | undefined;
  const store: ObjectStore = storeWith(real, {
    presignPart: async (...a) => {
      const signed = await real.presignPart(...a);
      if (a[3] === 1) {
        const url = new URL(signed.url);
        url.host = proxyAt; // part 1's PUT is held by the proxy
        return { ...signed, url: url.toString() };
      }
      await held.arrived.promise; // part 2 fails once part 1's PUT is under way
      throw new Error('part 2 refused (this test)');
    },
    abortMultipart: async (...a) => {
      abortedWhilePutRunning ??= held.count > 0;
      held.release.resolve();
      return real.abortMultipart(...a);
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
