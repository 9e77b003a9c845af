// The MDT's mutation path without the network: reply-cache bounds, eviction, group commit and acknowledgement order.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { fourOsts, ROOT } from '../../../test/lustre/mds-fixtures.ts';
import { ROOT_INO } from '../types.ts';
import { openInode } from './handles.ts';
import { type Caller, Mdt } from './mdt.ts';
import { Store } from './store.ts';

let dir: string;
let mdt: Mdt;
const destroyed: string[] = [];
const caller: Caller = { client: 'c1', host: 'node-a', session: undefined };

async function open(extra: Partial<Parameters<typeof Mdt.open>[0]> = {}): Promise<Mdt> {
  mdt = await Mdt.open({
    path: join(dir, 'mdt.db'),
    fsname: 'fs',
    osts: async () => fourOsts(),
    destroyObjects: async (o) => void destroyed.push(...o.objects),
    ...extra,
  });
  return mdt;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-mdt-'));
  destroyed.length = 0;
  await open();
});
afterEach(async () => {
  await mdt.close();
  await rm(dir, { recursive: true, force: true });
});

const mkdir = (xid: number, name: string) =>
  mdt.mutate(caller, xid, ROOT, (op) => mdt.ns.mkdir(op, ROOT_INO, name, 0o755));

test('only the last N replies per client are kept', async () => {
  await mdt.close();
  await open({ replyCacheSize: 16 });
  const first = await mkdir(1, 'd1');
  assert.deepEqual(await mkdir(1, 'd1'), first);
  let last = first;
  for (let x = 2; x <= 200; x++) last = await mkdir(x, `d${x}`);
  assert.deepEqual(await mkdir(200, 'd200'), last, 'recent xids still answer');
  await assert.rejects(mkdir(1, 'd1'), { code: 'EEXIST' }, 'xid 1 was forgotten and ran again');
  const kept = mdt.store.db.prepare('SELECT count(*) AS n FROM replies').get() as { n: number };
  assert.ok(kept.n <= 16 + 64, `kept ${kept.n} replies`);
});

test('replies of other clients with the same xid are separate', async () => {
  await mkdir(5, 'a');
  const other: Caller = { ...caller, client: 'c2' };
  await assert.rejects(
    mdt.mutate(other, 5, ROOT, (op) => mdt.ns.mkdir(op, ROOT_INO, 'a', 0o755)),
    { code: 'EEXIST' },
  );
});

test('concurrent mutations share one commit and are acknowledged only after it', async () => {
  const before = mdt.commit.stats.commits;
  const acks = Array.from({ length: 50 }, (_, i) => mkdir(1000 + i, `c${i}`));
  assert.equal(mdt.commit.stats.commits, before, 'nothing committed before the event loop turns');
  await Promise.all(acks);
  assert.equal(mdt.commit.stats.commits, before + 1);
  assert.equal(mdt.ns.readdir(ROOT, ROOT_INO, 0, 100, false).length, 52);
});

test('a failing mutation in a batch is undone alone', async () => {
  const results = await Promise.allSettled([mkdir(1, 'x'), mkdir(2, 'x'), mkdir(3, 'y')]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.deepEqual(
    mdt.ns.readdir(ROOT, ROOT_INO, 2, 10, false).map((e) => e.name),
    ['x', 'y'],
  );
});

test("eviction releases a client's handles and destroys its orphans", async () => {
  const f = await mdt.mutate(caller, 1, ROOT, (op) => mdt.ns.create(op, ROOT_INO, 'f', 0o644, true, true, 2));
  await mdt.mutate(caller, 2, ROOT, (op) => openInode(mdt.ns, op, f.attr.ino, 0));
  await mdt.mutate(caller, 3, ROOT, (op) => mdt.ns.unlink(op, ROOT_INO, 'f'));
  assert.equal(mdt.store.openCount(f.attr.ino), 2);
  await mdt.evict('c1');
  assert.equal(mdt.store.openCount(f.attr.ino), 0);
  assert.deepEqual(mdt.store.orphans(), []);
  assert.equal(mdt.store.getReply('c1', 1), undefined, 'its reply cache is gone too');
  const deadline = Date.now() + 5_000;
  while (!destroyed.includes(`${f.attr.ino}.0`) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 10));
  assert.ok(destroyed.includes(`${f.attr.ino}.0`));
});

test('a second opener of the same MDT database is refused while the first has it', () => {
  assert.throws(() => new Store(join(dir, 'mdt.db')), { code: 'ERR_SQLITE_ERROR', errcode: 5 });
});
