// Stale mirror copies on the MDT: markStale recorded durably and idempotently, reported in layouts, cleared only by a clean resync.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { fourOsts, ROOT } from '../../../test/lustre/mds-fixtures.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { type Layout, ROOT_INO } from '../types.ts';
import { type Caller, Mdt } from './mdt.ts';
import type { ResyncObject } from './resync-queue.ts';
import { withStale } from './stale.ts';

let dir: string;
let mdt: Mdt;
const caller: Caller = { client: 'c1', host: 'node-a', session: undefined };
const never: ResyncObject = () => Promise.reject(new Error('OSS down'));

async function open(resyncObject: ResyncObject = never): Promise<Mdt> {
  mdt = await Mdt.open({
    path: join(dir, 'mdt.db'),
    fsname: 'fs',
    osts: async () => fourOsts(),
    destroyObjects: async () => undefined,
    resyncObject,
    resyncSettleMs: 0,
    replicas: 2,
    // Unlinked files go at once (not after the window that lets a racing open find them).
    unlinkLingerMs: 0,
  });
  return mdt;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-stale-'));
  await open();
});
afterEach(async () => {
  await mdt.close();
  await rm(dir, { recursive: true, force: true });
});

async function mirroredFile(name: string): Promise<{ ino: number; layout: Layout }> {
  const r = await mdt.mutate(caller, undefined, ROOT, (op) =>
    mdt.ns.create(op, ROOT_INO, name, 0o100644, true, false, 0),
  );
  assert.ok(r.layout.mirrors, 'replicas 2 gives a mirror');
  return { ino: r.attr.ino, layout: r.layout };
}

const until = (what: string, cond: () => boolean, timeoutMs = 5_000) =>
  waitFor(what, cond, { timeoutMs, intervalMs: 10 });

test('markStale is idempotent, shows in the layout, and refuses nonsense', async () => {
  const { ino, layout } = await mirroredFile('f');
  const ost = layout.osts[0]!;
  await mdt.markStale(caller, ino, 0, ost);
  await mdt.markStale(caller, ino, 0, ost);
  assert.equal(mdt.staleCount(), 1);
  assert.deepEqual(withStale(mdt.store.db, ino, mdt.ns.getLayout(ino))?.stale, [{ stripe: 0, ost }]);
  const other = [0, 1, 2, 3].find((o) => o !== ost && o !== layout.mirrors![0])!;
  await assert.rejects(mdt.markStale(caller, ino, 0, other), { code: 'EINVAL' });
  await assert.rejects(mdt.markStale(caller, ino, 0, layout.mirrors![0]!), { code: 'EIO' });
  assert.equal(mdt.staleCount(), 1);
});

test('a stale record survives an MDS restart while its OST stays away', async () => {
  const { ino, layout } = await mirroredFile('f');
  await mdt.markStale(caller, ino, 0, layout.mirrors![0]!);
  await mdt.close();
  await open();
  assert.equal(mdt.staleCount(), 1);
  assert.deepEqual(withStale(mdt.store.db, ino, mdt.ns.getLayout(ino))?.stale, [
    { stripe: 0, ost: layout.mirrors![0]! },
  ]);
});

test('the resync copies from the good copy to the stale one and then clears the record', async () => {
  await mdt.close();
  const copies: { fromTarget: string; toTarget: string; object: string }[] = [];
  await open(async (c) => void copies.push(c));
  const { ino, layout } = await mirroredFile('f');
  await mdt.markStale(caller, ino, 0, layout.osts[0]!);
  await until('record cleared', () => mdt.staleCount() === 0);
  assert.deepEqual(copies, [
    {
      fromTarget: `fs-OST000${layout.mirrors![0]}`,
      toTarget: `fs-OST000${layout.osts[0]}`,
      object: `${ino}.0`,
    },
  ]);
  assert.equal(withStale(mdt.store.db, ino, mdt.ns.getLayout(ino))?.stale, undefined);
});

test('a write reported during a resync keeps the record until a later copy', async () => {
  await mdt.close();
  let calls = 0;
  let file = { ino: 0, ost: 0 };
  await open(async () => {
    calls++;
    // A client wrote the good copy while this copy ran.
    if (calls === 1) await mdt.markStale(caller, file.ino, 0, file.ost);
  });
  const { ino, layout } = await mirroredFile('f');
  file = { ino, ost: layout.osts[0]! };
  await mdt.markStale(caller, ino, 0, file.ost);
  await until('record cleared', () => mdt.staleCount() === 0);
  assert.equal(calls, 2, 'the first copy did not clear the record; a second one did');
});

test('the record of a file that is gone is dropped', async () => {
  const { ino, layout } = await mirroredFile('f');
  await mdt.markStale(caller, ino, 0, layout.osts[0]!);
  await mdt.mutate(caller, undefined, ROOT, (op) => mdt.ns.unlink(op, ROOT_INO, 'f'));
  await assert.rejects(mdt.markStale(caller, ino, 0, layout.osts[0]!), { code: 'ENOENT' });
  await until('record dropped', () => mdt.staleCount() === 0);
});
