// Replies kept under a mount's id go at forgetMount and after their age bound (counted from the MDS's start too), and a sweep of many gone mounts leaves other mutations running.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, test } from 'node:test';
import { fourOsts, ROOT, TestMdsClient } from '../../../test/lustre/mds-fixtures.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { Mdt } from './mdt.ts';
import { type MdsServer, mdtPath, startMds } from './mdt-server.ts';
import type { MountReplyOptions } from './mount-replies.ts';

let dir: string;
let server: MdsServer;
const clients: TestMdsClient[] = [];

async function start(mountReplies: MountReplyOptions): Promise<void> {
  server = await startMds({
    dataDir: dir,
    listen: { host: '127.0.0.1', port: 0 },
    fsname: 'fs1',
    osts: async () => fourOsts(),
    destroyObjects: async () => {},
    graceMs: 0,
    mountReplies,
  });
}

function client(id: string): TestMdsClient {
  const c = new TestMdsClient(server.address, id);
  clients.push(c);
  return c;
}

/** Reply rows kept under each mount in `db`. */
function countRows(db: DatabaseSync): Map<string, number> {
  const rows = db.prepare(
    "SELECT client, count(*) AS n FROM replies WHERE client LIKE 'mount:%' GROUP BY client",
  );
  return new Map(rows.all().map((r) => [String(r['client']).slice(6), Number(r['n'])]));
}

/** Reply rows kept under each mount, read from the MDT's database once the MDS is closed (it locks it exclusively). */
async function rowsAfterClose(): Promise<Map<string, number>> {
  for (const c of clients.splice(0)) c.close();
  await server.close();
  const db = new DatabaseSync(mdtPath(dir, 'fs1'), { readOnly: true });
  try {
    return countRows(db);
  } finally {
    db.close();
  }
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-mount-replies-'));
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function appendFile(c: TestMdsClient, name: string): Promise<number> {
  const f = await c.call('create', {
    xid: c.nextXid(),
    cred: ROOT,
    parent: 1,
    name,
    mode: 0o644,
    exclusive: true,
    open: true,
    flags: 0o2002,
  });
  return f.attr.ino;
}

/** p50, p99 and max of latencies in ms. */
function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const p = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(1);
  return `p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms`;
}

const append = (c: TestMdsClient, ino: number, mount: string, request: number) =>
  c.call('reserveAppend', { xid: c.nextXid(), ino, length: 10, key: { mount, request } });

test("forgetMount drops that mount's replies only, durably; a repeat is 0; a bad id is EINVAL and drops nothing", async () => {
  await start({ sweepEveryMs: 0 });
  const c = client('daemon-1');
  const ino = await appendFile(c, 'log');
  for (let r = 1; r <= 5; r++) await append(c, ino, 'gone', r);
  for (let r = 1; r <= 3; r++) await append(c, ino, 'live', r);
  await assert.rejects(c.call('forgetMount', { mount: 'a b' }), { code: 'EINVAL' });
  assert.deepEqual(await c.call('forgetMount', { mount: 'gone' }), { replies: 5 });
  assert.deepEqual(await c.call('forgetMount', { mount: 'gone' }), { replies: 0 });
  // The live mount's resend still gets its first range; the forgotten mount's key is a new request.
  assert.equal((await append(client('daemon-2'), ino, 'live', 2)).size, 70);
  assert.equal((await append(c, ino, 'gone', 1)).size, 90);
  // In the database: the live mount's 3, the forgotten mount's new one.
  assert.deepEqual(
    await rowsAfterClose(),
    new Map([
      ['gone', 1],
      ['live', 3],
    ]),
  );
  await start({ sweepEveryMs: 0 });
});

test('a mount unwritten for the age bound loses its replies; a resend inside the bound, also across a restart, gets its reply', async () => {
  const maxAgeMs = 1_500;
  await start({ maxAgeMs, sweepEveryMs: 100 });
  const c = client('daemon-1');
  const ino = await appendFile(c, 'log');
  const wroteAt = Date.now();
  assert.equal((await append(c, ino, 'idle', 1)).size, 10);
  // A daemon replacement within the bound: the new daemon's resend gets the first range.
  assert.equal((await append(client('daemon-2'), ino, 'idle', 1)).size, 10);
  c.close();
  await server.close();
  // The MDS is down for longer than the bound; the row's age alone would have it swept at start.
  await waitFor('the row to be older than the bound', () => Date.now() - wroteAt > maxAgeMs + 200, 5_000);
  const startedAt = Date.now();
  await start({ maxAgeMs, sweepEveryMs: 100 });
  assert.equal((await append(client('daemon-3'), ino, 'idle', 1)).size, 10, 'kept across a restart');
  // A resend answered from the cache changes nothing; the first one after the sweep is a new request.
  const probe = client('daemon-4');
  const size = await waitFor("the idle mount's replies to go", async () => {
    const s = (await append(probe, ino, 'idle', 1)).size;
    return s !== 10 && s;
  });
  assert.ok(Date.now() - startedAt >= maxAgeMs, 'not before the bound, counted from the start');
  assert.equal(size, 20, 'forgotten: a new request, once');
  assert.deepEqual(await rowsAfterClose(), new Map([['idle', 1]]));
  await start({ sweepEveryMs: 0 });
});

test('a sweep of 100 gone mounts (~100k replies) drops them one mount per transaction while mkdirs go on', async () => {
  await start({ sweepEveryMs: 0 }); // afterEach closes a server
  const mounts = 100;
  const perMount = 1_024;
  const path = join(dir, 'sweep.db');
  const opts = {
    path,
    fsname: 'fs1',
    osts: async () => fourOsts(),
    destroyObjects: async () => {},
    graceMs: 0,
  };
  // Rows as an MDS from before this change left them: no write times, so they age from the next start.
  const old = await Mdt.open({ ...opts, mountReplies: { sweepEveryMs: 0 } });
  const put = old.store.db.prepare('INSERT INTO replies (client, xid, seq, reply) VALUES (?, ?, ?, ?)');
  const reply = JSON.stringify({ r: { ino: 1, size: 4096, mode: 0o100644, padding: 'x'.repeat(200) } });
  await old.commit.apply(() => {
    for (let m = 0; m < mounts; m++)
      for (let r = 1; r <= perMount; r++) put.run(`mount:old-${m}`, r, r, reply);
  });
  await old.close();
  const mdt = await Mdt.open({
    ...opts,
    mountReplies: { maxAgeMs: 300, sweepEveryMs: 50, mountsPerSweep: 16 },
  });
  try {
    assert.equal(countRows(mdt.store.db).size, mounts);
    const caller = { client: 'worker', host: 'node-a', session: undefined };
    const pending = mdt.store.db.prepare('SELECT count(*) AS n FROM mount_replies');
    let n = 0;
    const mkdir = async (): Promise<number> => {
      const t = performance.now();
      await mdt.mutate(caller, n + 1, ROOT, (op) => mdt.ns.mkdir(op, 1, `d${n}`, 0o755));
      n++;
      return performance.now() - t;
    };
    const during: number[] = [];
    while (Number(pending.get()?.['n']) > 0) {
      during.push(await mkdir());
      assert.ok(n < 1_000_000, 'the sweep finished');
    }
    const after: number[] = [];
    for (let i = 0; i < Math.max(during.length, 50); i++) after.push(await mkdir());
    console.log(
      `# ${mounts} mounts × ${perMount} replies swept during ${during.length} mkdirs: ${stats(during)}`,
    );
    console.log(`# the same mkdirs after the sweep (baseline): ${stats(after)}`);
    assert.equal(countRows(mdt.store.db).size, 0);
    // readdir answers at most a page: follow the cookies to count every name.
    let names = 0;
    for (let cookie = 0; ; ) {
      const page = mdt.ns.readdir(ROOT, 1, cookie, 1_000_000, false);
      if (page.length === 0) break;
      names += page.filter((e) => e.name.startsWith('d')).length;
      cookie = page.at(-1)!.cookie;
    }
    assert.equal(names, n, 'every mkdir during the sweep is there');
    const left = mdt.store.db.prepare('SELECT count(*) AS n FROM mount_replies').get();
    assert.equal(Number(left?.['n']), 0, 'no write times left for dropped mounts');
  } finally {
    await mdt.close();
  }
});
