// Batched export of small files against the real MDS, OSSes and MinIO: each file of a batch archived, kept dirty or failed on its own.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type S3Cluster, startS3Cluster, storeWith } from '../../../test/lustre/s3-cluster.ts';
import { FsError } from '../../lib/errors.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { type ObjectStore, ObjectStoreError } from '../../platform/object-store.ts';
import type { S3ObjectStore } from '../../platform/s3-object-store.ts';
import type { LustreClient } from '../client/lustre-client.ts';
import { HS_ARCHIVED, HS_DIRTY, HS_EXISTS } from '../protocol/hsm-messages.ts';
import { ROOT_CREDENTIALS } from '../types.ts';
import { exportBatchOf } from './export-batch.ts';
import { exportPath } from './exporter.ts';
import type { FileOutcome, RepositoryLink } from './importer.ts';
import { ensureDir } from './tree.ts';

let env: S3Cluster;
let s3: S3Client;
let real: S3ObjectStore;
let agent: LustreClient;
let user: LustreClient;
const signal = AbortSignal.timeout(120_000);
const link: RepositoryLink = { bucket: 'exp', prefix: 'p/', fsPath: '/repo', chunkBytes: 1024 * 1024 };
const noop = () => {};

before(async () => {
  env = await startS3Cluster({ bucket: 'exp', storeTimeoutMs: 10_000, registerAgent: true, signal });
  ({ s3, store: real, agent, user } = env);
});
after(() => env?.close());

async function writeFile(dir: number, name: string, data: Buffer): Promise<number> {
  const { handle, attr } = await user.create(ROOT_CREDENTIALS, dir, name, 0o100644, 0o1, signal);
  await user.write(handle, 0, data, signal);
  await user.release(handle, signal);
  return attr.ino;
}
async function object(key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: 'exp', Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}
const hsm = (ino: number) => user.mds.call('hsmState', { ino }, signal);

test('an export of 40 small files in batches: one written during its upload stays dirty and one whose PUT is denied is reported, while the rest of their batches are archived clean', async () => {
  const dir = await ensureDir(user, '/repo/many', signal);
  const data = Array.from({ length: 40 }, (_, i) => randomBytes(1000 + i * 97));
  const inos: number[] = [];
  for (const [i, d] of data.entries()) inos.push(await writeFile(dir.ino, `f${i}`, d));
  // At the S3 seam: f7 is written again while its PUT is out; f13's PUT is refused.
  const store: ObjectStore = storeWith(real, {
    put: async (...a: Parameters<ObjectStore['put']>) => {
      if (a[1] === 'p/many/f7') {
        const w = await user.open(ROOT_CREDENTIALS, inos[7]!, 0o1, signal);
        await user.write(w, 0, Buffer.from('second version'), signal);
        await user.release(w, signal);
      }
      if (a[1] === 'p/many/f13') throw new ObjectStoreError('AccessDenied', 'Access Denied (this test)');
      return real.put(...a);
    },
  });
  const before = exportBatchOf(agent).stats;
  const outcomes: FileOutcome[] = [];
  await exportPath(agent, store, link, '/repo/many', {}, noop, (o) => outcomes.push(o), signal);
  const after = exportBatchOf(agent).stats;

  const failed = outcomes.filter((o) => !o.ok);
  assert.deepEqual(failed, [{ path: 'repo/many/f13', ok: false, errorCode: 'S3AccessDenied' }]);
  assert.equal(outcomes.filter((o) => o.ok).length, 40, 'the directory and 39 files');
  const [opens, dones] = [after.open.batches - before.open.batches, after.done.batches - before.done.batches];
  assert.equal(after.open.items - before.open.items, 40);
  assert.equal(after.done.items - before.done.items, 40, 'every handle closed, with its archive or alone');
  assert.ok(opens < 40 && dones < 40, `40 files in ${opens} open and ${dones} done calls: batched`);

  for (const [i, ino] of inos.entries()) {
    const st = await hsm(ino);
    assert.equal(st.open, false, `f${i}: no handle left open`);
    if (i === 7) assert.equal(st.flags, HS_EXISTS | HS_ARCHIVED | HS_DIRTY, 'f7 changed during its export');
    else if (i === 13) assert.equal(st.flags & HS_ARCHIVED, 0, 'f13 was not archived');
    else {
      assert.equal(st.flags, HS_EXISTS | HS_ARCHIVED, `f${i} archived clean`);
      assert.ok((await object(`p/many/f${i}`)).equals(data[i]!), `f${i} in S3`);
    }
  }
  assert.ok((await object('p/many/f7')).equals(data[7]!), 'f7 as it was read');

  // The next export takes the two left behind, and only them.
  const again: FileOutcome[] = [];
  await exportPath(agent, real, link, '/repo/many', {}, noop, (o) => again.push(o), signal);
  assert.deepEqual(again.map((o) => `${o.path} ${o.ok}`).sort(), [
    'repo/many true',
    'repo/many/f13 true',
    'repo/many/f7 true',
  ]);
  const second = Buffer.concat([Buffer.from('second version'), data[7]!.subarray(14)]);
  assert.ok((await object('p/many/f7')).equals(second));
  assert.ok((await object('p/many/f13')).equals(data[13]!));
  for (const i of [7, 13]) assert.equal((await hsm(inos[i]!)).flags, HS_EXISTS | HS_ARCHIVED);
});

test('an export that gives up while its file is being opened leaves no handle open on the MDS', async () => {
  const dir = await ensureDir(user, '/repo/gone', signal);
  const ino = await writeFile(dir.ino, 'f', Buffer.from('data'));
  const stop = new AbortController();
  const before = exportBatchOf(agent).stats;
  const opening = exportBatchOf(agent).open(ino, stop.signal);
  stop.abort(); // the open is queued for this turn's batch, which still goes out
  await assert.rejects(opening, (e) => e instanceof FsError && e.code === 'EINTR');
  await waitFor('the handle opened for nobody is closed', async () => {
    const now = exportBatchOf(agent).stats;
    const closed = now.open.items === before.open.items + 1 && now.done.items === before.done.items + 1;
    return closed && !(await hsm(ino)).open;
  });
  assert.equal((await hsm(ino)).flags & HS_ARCHIVED, 0, 'nothing was archived');
});

test('a batched end of export the MDS rejects as a whole still closes each file of the batch on its own, and nothing is archived', async () => {
  const dir = await ensureDir(user, '/repo/rejected', signal);
  const ino = await writeFile(dir.ino, 'f', Buffer.from('data'));
  const batch = exportBatchOf(agent);
  const { attr, opened } = await batch.open(ino, signal);
  assert.ok(opened, 'opened for reading');
  assert.equal((await hsm(ino)).open, true);
  const archived = {
    location: 's3://exp/p/rejected/f',
    archiveId: 1,
    asOf: { mtimeMs: attr.mtimeMs, size: attr.size },
  };
  // Both go in one batch (same turn); the malformed second item makes the MDS refuse the whole call.
  const ending = batch.done({ ino, handle: opened.handle, archived }, signal);
  const malformed = batch.done({ ino, archived: { location: 5 } } as never, signal);
  await assert.rejects(malformed, (e) => e instanceof FsError && e.code === 'EINVAL');
  await assert.rejects(
    ending,
    (e) => e instanceof FsError && e.code === 'EINVAL',
    'the file keeps the batch error',
  );
  const st = await hsm(ino);
  assert.equal(st.open, false, 'its handle is closed once its export ended');
  assert.equal(st.flags & HS_ARCHIVED, 0, 'not archived');
});
