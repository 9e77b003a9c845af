// Exports whose parts the OSSes PUT to a real MinIO themselves (presigned UploadParts): the agent's process sends none of the bytes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { GetObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { MinioServer } from '../../../e2e/harness/minio-server.ts';
import { type S3Cluster, startS3Cluster, storeWith } from '../../../test/lustre/s3-cluster.ts';
import { startTestCluster, type TestCluster } from '../../../test/lustre/test-cluster.ts';
import { waitFor } from '../../lib/wait-for.ts';
import type { ObjectStore } from '../../platform/object-store.ts';
import { S3ObjectStore } from '../../platform/s3-object-store.ts';
import { connectLustre, type LustreClient } from '../client/lustre-client.ts';
import { FetchFailedError } from '../client/striped-fetch.ts';
import { HS_ARCHIVED, HS_DIRTY, HS_EXISTS, HS_RELEASED } from '../protocol/hsm-messages.ts';
import { objectId } from '../striping.ts';
import { ROOT_CREDENTIALS } from '../types.ts';
import { type ExportOptions, exportPath } from './exporter.ts';
import type { FileOutcome, RepositoryLink } from './importer.ts';

const MiB = 1024 * 1024;
/** S3's smallest part but the last. */
const PART = 5 * MiB;
const opts: ExportOptions = { multipartBytes: PART, partConcurrency: 2 };
let env: S3Cluster;
let minio: MinioServer;
let s3: S3Client;
let cluster: TestCluster;
let agent: LustreClient;
let user: LustreClient;
let real: S3ObjectStore;
/** The agent's store: it may create, presign and complete uploads, but a PUT of file bytes through it fails the export. */
let store: ObjectStore;
let agentPuts = 0;
/** Run once after the next CreateMultipartUpload (the upload is started, no part sent yet). */
let afterCreate: (() => Promise<void>) | undefined;
/** Run before each part is presigned. */
let beforePart: ((partNumber: number) => Promise<void>) | undefined;
const signal = AbortSignal.timeout(240_000);
const link: RepositoryLink = { bucket: 'out', prefix: 'p/', fsPath: '/repo', chunkBytes: 64 * MiB };
const noop = () => {};

before(async () => {
  // OSSes in their own processes: bytes they send come from no process but theirs.
  env = await startS3Cluster({ bucket: 'out', ossInChildren: true, signal });
  ({ minio, s3, store: real, cluster, agent, user } = env);
  const agentPut = async () => {
    agentPuts++;
    throw new Error('the agent PUTs file bytes itself');
  };
  store = storeWith(real, {
    put: agentPut,
    putMultipart: agentPut,
    createMultipart: async (...a) => {
      const id = await real.createMultipart(...a);
      const then = afterCreate;
      afterCreate = undefined;
      await then?.();
      return id;
    },
    presignPart: async (...a) => {
      await beforePart?.(a[3]);
      return real.presignPart(...a);
    },
  });
  await user.mkdir(ROOT_CREDENTIALS, 1, 'repo', 0o755, signal);
});
after(() => env?.close());

async function writeFile(path: string, data: Buffer): Promise<number> {
  const parts = path.split('/');
  const dir = await user.resolvePath(parts.slice(0, -1).join('/'), signal);
  const { handle, attr } = await user.create(ROOT_CREDENTIALS, dir.ino, parts.at(-1)!, 0o100640, 0o1, signal);
  for (let off = 0; off < data.length; off += 4 * MiB)
    await user.write(handle, off, data.subarray(off, off + 4 * MiB), signal);
  await user.release(handle, signal);
  return attr.ino;
}

async function exported(path: string, o: ExportOptions = opts): Promise<FileOutcome[]> {
  const outcomes: FileOutcome[] = [];
  await exportPath(agent, store, link, path, o, noop, (x) => outcomes.push(x), signal);
  return outcomes;
}

async function s3Object(key: string): Promise<{ body: Buffer; meta: Record<string, string> }> {
  const out = await s3.send(new GetObjectCommand({ Bucket: 'out', Key: key }), { abortSignal: signal });
  return { body: Buffer.from(await out.Body!.transformToByteArray()), meta: out.Metadata ?? {} };
}

const stateOf = async (ino: number) => (await user.mds.call('hsmState', { ino }, signal)).flags;

test('a multi-part file is exported with every byte sent by its OSS, none by the agent', async () => {
  const data = randomBytes(2 * PART + 12_345);
  const ino = await writeFile('/repo/one-stripe', data);
  assert.deepEqual(await exported('/repo/one-stripe'), [{ path: 'repo/one-stripe', ok: true }]);
  const o = await s3Object('p/one-stripe');
  assert.ok(o.body.equals(data), 'S3 holds the file');
  assert.equal(o.meta['file-permissions'], '0100640');
  assert.equal(await stateOf(ino), HS_EXISTS | HS_ARCHIVED, 'archived and clean');
  assert.equal(agentPuts, 0, 'no PUT of file bytes by the agent');
});

test('stripes of the part size go from both OSSes; a file whose parts span stripes goes through the agent', async () => {
  const repo = await user.resolvePath('/repo', signal);
  for (const [name, stripeSize] of [
    ['wide', PART],
    ['narrow', MiB],
  ] as const) {
    const dir = await user.mkdir(ROOT_CREDENTIALS, repo.ino, name, 0o755, signal);
    await user.setstripe(ROOT_CREDENTIALS, dir.ino, { stripeCount: 2, stripeSize, stripeOffset: -1 }, signal);
  }
  const data = randomBytes(3 * PART + 1);
  await writeFile('/repo/wide/f', data);
  assert.deepEqual(await exported('/repo/wide/f'), [{ path: 'repo/wide/f', ok: true }]);
  assert.ok((await s3Object('p/wide/f')).body.equals(data));
  assert.equal(agentPuts, 0);
  await writeFile('/repo/narrow/f', data);
  const [narrow] = await exported('/repo/narrow/f');
  assert.equal(narrow?.ok, false, 'the agent path was taken (and this test refuses it)');
  assert.equal(agentPuts, 1);
  const byAgent: FileOutcome[] = [];
  await exportPath(agent, real, link, '/repo/narrow/f', opts, noop, (o) => byAgent.push(o), signal);
  assert.deepEqual(byAgent, [{ path: 'repo/narrow/f', ok: true }]);
  assert.ok((await s3Object('p/narrow/f')).body.equals(data), 'exported by the agent with its own store');
});

test('a store made with presignUploads false (--s3-export-by agent) has the agent send the parts', async () => {
  const credentials = { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey };
  const own = new S3ObjectStore({
    endpoint: minio.endpoint,
    region: minio.region,
    credentials,
    presignUploads: false,
  });
  let multipart = 0;
  const counting = new Proxy(own, {
    get(target, p) {
      if (p === 'putMultipart') multipart++;
      const v = Reflect.get(target, p);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  try {
    const data = randomBytes(PART + 5);
    await writeFile('/repo/by-agent', data);
    const out: FileOutcome[] = [];
    await exportPath(agent, counting, link, '/repo/by-agent', opts, noop, (o) => out.push(o), signal);
    assert.deepEqual(out, [{ path: 'repo/by-agent', ok: true }]);
    assert.equal(multipart, 1, "the agent's own multipart upload");
    assert.ok((await s3Object('p/by-agent')).body.equals(data));
  } finally {
    own.close();
  }
});

test('a file written during its export stays dirty, and its next export makes it clean', async () => {
  const data = randomBytes(2 * PART + 1);
  const ino = await writeFile('/repo/racing', data);
  // Between part 1's checksum and its PUT (presigned after the checksum): S3 refuses the new
  // bytes, the part is taken again.
  beforePart = async (n) => {
    if (n !== 1) return;
    beforePart = undefined;
    const w = await user.open(ROOT_CREDENTIALS, ino, 0o1, signal);
    await user.write(w, 0, Buffer.from('second version'), signal);
    await user.release(w, signal);
  };
  assert.deepEqual(await exported('/repo/racing'), [{ path: 'repo/racing', ok: true }]);
  assert.equal(await stateOf(ino), HS_EXISTS | HS_ARCHIVED | HS_DIRTY, 'changed during its export');
  await exported('/repo/racing');
  const expected = Buffer.concat([Buffer.from('second version'), data.subarray(14)]);
  assert.ok((await s3Object('p/racing')).body.equals(expected));
  assert.equal(await stateOf(ino), HS_EXISTS | HS_ARCHIVED);
});

test('MinIO down once the upload started: the file fails as S3Unavailable and stays dirty; exported once MinIO is back', async () => {
  const data = randomBytes(PART + 99);
  const ino = await writeFile('/repo/down', randomBytes(PART + 99));
  assert.deepEqual(await exported('/repo/down'), [{ path: 'repo/down', ok: true }]);
  const w = await user.open(ROOT_CREDENTIALS, ino, 0o1, signal);
  await user.write(w, 0, data, signal);
  await user.release(w, signal);
  assert.equal(await stateOf(ino), HS_EXISTS | HS_ARCHIVED | HS_DIRTY);
  afterCreate = () => minio.pause();
  try {
    assert.deepEqual(await exported('/repo/down'), [
      { path: 'repo/down', ok: false, errorCode: 'S3Unavailable' },
    ]);
    assert.equal(await stateOf(ino), HS_EXISTS | HS_ARCHIVED | HS_DIRTY, 'still dirty');
  } finally {
    await minio.resume();
  }
  assert.deepEqual(await exported('/repo/down'), [{ path: 'repo/down', ok: true }]);
  assert.ok((await s3Object('p/down')).body.equals(data));
  assert.equal(await stateOf(ino), HS_EXISTS | HS_ARCHIVED);
});

test("an export cancelled while its parts go up closes its read handle on the MDS (left open, the file's release is refused EBUSY) and aborts its upload", async () => {
  const ino = await writeFile('/repo/cancelled', randomBytes(2 * PART));
  const cancel = new AbortController();
  afterCreate = async () => cancel.abort(new Error('the task was cancelled'));
  await assert.rejects(
    exportPath(
      agent,
      store,
      link,
      '/repo/cancelled',
      opts,
      noop,
      noop,
      AbortSignal.any([signal, cancel.signal]),
    ),
  );
  const st = await user.mds.call('hsmState', { ino }, signal);
  assert.equal(st.open, false, 'no handle of the agent left open on the file');
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'out', Prefix: 'p/cancelled' }), {
    abortSignal: signal,
  });
  assert.deepEqual(uploads.Uploads ?? [], [], 'no upload left behind');
});

test('a file released between the export seeing it dirty and opening it is not sent again from its freed objects: S3 keeps its content', async () => {
  const data = randomBytes(2 * PART);
  const ino = await writeFile('/repo/released-race', data);
  assert.deepEqual(await exported('/repo/released-race'), [{ path: 'repo/released-race', ok: true }]);
  // Opened for writing (the same bytes written again): dirty, so the next export goes ahead.
  const w = await user.open(ROOT_CREDENTIALS, ino, 0o1, signal);
  await user.write(w, 0, data.subarray(0, 10), signal);
  await user.release(w, signal);
  const { location } = await user.mds.call('hsmState', { ino }, signal);
  const ost = (await user.getstripe(ino, signal)).layout!.osts[0]!;
  const oss = await cluster.ossFor(ost);
  // Just before this export opens it, another export (auto-export on close) archives it clean and a release frees its objects.
  const open = agent.open.bind(agent);
  agent.open = async (...a: Parameters<LustreClient['open']>) => {
    agent.open = open;
    const { mtimeMs, size } = await user.getattr(ino, signal);
    const archive = {
      cred: ROOT_CREDENTIALS,
      ino,
      archiveId: 1,
      location: location!,
      asOf: { mtimeMs, size },
    };
    assert.equal((await user.mds.mutate('hsmArchived', archive, signal)).clean, true);
    await user.mds.mutate('hsmRelease', { cred: ROOT_CREDENTIALS, ino }, signal);
    const head = { target: oss.target, object: objectId(ino, 0), offset: 0, length: 16 };
    await waitFor(
      'its objects freed',
      async () => !(await oss.client.read(head, signal)).equals(data.subarray(0, 16)),
    );
    return open(...a);
  };
  await exported('/repo/released-race');
  assert.ok(
    (await s3Object('p/released-race')).body.equals(data),
    'S3 still holds the file, not its freed objects',
  );
  assert.ok((await stateOf(ino)) & HS_RELEASED);
});

test('S3 refuses bytes that do not match the signed CRC-32, and a CRC-32 header changed after signing', async () => {
  const ino = await writeFile('/repo/tamper', randomBytes(PART + 1));
  const h = await agent.open(ROOT_CREDENTIALS, ino, 0, signal);
  const uploadId = await real.createMultipart('out', 'p/tamper', {}, signal);
  try {
    const up = (await agent.stripeUploader(h, signal))!;
    const other = Buffer.alloc(4).toString('base64'); // the CRC-32 of other bytes
    await assert.rejects(
      up.send(
        0,
        PART,
        () => real.presignPart('out', 'p/tamper', uploadId, 1, PART, other, 60),
        30_000,
        signal,
      ),
      (e) => e instanceof FetchFailedError && e.failure.kind === 'Changed' && e.failure.status === 400,
    );
    const tampered = (crc: string) =>
      real
        .presignPart('out', 'p/tamper', uploadId, 1, PART, crc, 60)
        .then((p) => ({ ...p, headers: { ...p.headers, 'x-amz-checksum-crc32': other } }));
    await assert.rejects(
      up.send(0, PART, tampered, 30_000, signal),
      (e) => e instanceof FetchFailedError && e.failure.status === 403,
    );
    const sent = await up.send(
      0,
      PART,
      (crc) => real.presignPart('out', 'p/tamper', uploadId, 1, PART, crc, 60),
      30_000,
      signal,
    );
    assert.match(sent.etag, /^"[0-9a-f]+"$/);
  } finally {
    await real.abortMultipart('out', 'p/tamper', uploadId, signal);
    await agent.release(h, signal);
  }
});

test("with ossUpload 'all' a file of one part goes as the OSS's PutObject; a sparse tail goes as zeros", async () => {
  const data = randomBytes(100_000);
  const ino = await writeFile('/repo/small', data);
  await user.setattr(ROOT_CREDENTIALS, ino, { size: 300_000 }, signal); // a hole past the object's end
  assert.deepEqual(await exported('/repo/small', { ...opts, ossUpload: 'all' }), [
    { path: 'repo/small', ok: true },
  ]);
  const o = await s3Object('p/small');
  assert.ok(o.body.equals(Buffer.concat([data, Buffer.alloc(200_000)])), 'the file as a read gives it');
  assert.equal(o.meta['file-permissions'], '0100640');
  assert.equal(await stateOf(ino), HS_EXISTS | HS_ARCHIVED);
  assert.equal(agentPuts, 1, 'only the narrow file of the earlier test went to the agent');
});

test('PERSISTENT: parts are read from the copy a read would use — the live one while the other is down, never a stale one', async () => {
  const p = await startTestCluster({ fsname: 'pfs', ossCount: 2, replicas: 2, ossInChildren: true });
  const mount = (host: string) =>
    connectLustre({ mgsAddress: p.mgsAddress, fsname: 'pfs', host, signal, timeoutMs: 5_000 });
  // `fresh`: an agent that never saw the OSS fail (a client tries copies that failed lately last).
  const [a, fresh, u] = [await mount('agent'), await mount('agent2'), await mount('user')];
  const puts = agentPuts;
  try {
    await u.mkdir(ROOT_CREDENTIALS, 1, 'repo', 0o755, signal);
    const dir = await u.resolvePath('/repo', signal);
    const { handle, attr } = await u.create(ROOT_CREDENTIALS, dir.ino, 'm', 0o100644, 0o2, signal);
    const v1 = randomBytes(PART + 10);
    await u.write(handle, 0, v1, signal);
    const layout = (await u.getstripe(attr.ino, signal)).layout!;
    assert.equal(layout.mirrors?.length, 1, 'one stripe, two copies');
    await p.stopOssOf(layout.osts[0]!);
    const v2 = randomBytes(PART + 10);
    await u.write(handle, 0, v2, signal); // the first copy misses it: marked stale
    await u.release(handle, signal);
    assert.ok(p.staleCount() >= 1);
    const run = async (agent: LustreClient) => {
      const out: FileOutcome[] = [];
      await exportPath(agent, store, link, '/repo/m', opts, noop, (o) => out.push(o), signal);
      return out;
    };
    assert.deepEqual(await run(a), [{ path: 'repo/m', ok: true }], 'from the live copy');
    assert.ok((await s3Object('p/m')).body.equals(v2));
    await p.restartOssOf(layout.osts[0]!);
    const w = await u.open(ROOT_CREDENTIALS, attr.ino, 0o2, signal);
    // Written to the good copy only, which reports the stale one again: no resync for 1 s (settleMs).
    await u.write(w, 0, Buffer.from('v3'), signal);
    await u.release(w, signal);
    assert.ok(p.staleCount() >= 1, 'the copy holding v1 is back, and stale');
    assert.deepEqual(await run(fresh), [{ path: 'repo/m', ok: true }]);
    assert.ok((await s3Object('p/m')).body.equals(Buffer.concat([Buffer.from('v3'), v2.subarray(2)])));
    assert.equal(agentPuts, puts, 'the parts went from the OSSes');
  } finally {
    await u.close();
    await fresh.close();
    await a.close();
    await p.close();
  }
});

test('a presigned PutObject carries its metadata and is refused without its signed checksum', async () => {
  const body = Buffer.from('small file');
  const { crc32Base64 } = await import('../../platform/s3-checksums.ts');
  const p = await real.presignPut('out', 'p/put', body.length, crc32Base64(body), { 'file-owner': '7' }, 60);
  const { 'x-amz-checksum-crc32': _, ...unsigned } = p.headers;
  const refused = await fetch(p.url, { method: 'PUT', body, headers: unsigned, signal });
  assert.match(await refused.text(), /AccessDenied|SignatureDoesNotMatch/, 'a signed header left out');
  assert.equal(await real.head('out', 'p/put', signal), undefined, 'nothing stored');
  const ok = await fetch(p.url, { method: 'PUT', body, headers: p.headers, signal });
  assert.equal(ok.status, 200);
  const o = await s3Object('p/put');
  assert.equal(o.body.toString(), 'small file');
  assert.equal(o.meta['file-owner'], '7');
});
