// The MDS over RPC on loopback: the connect handshake, reply reconstruction, invalidation pushes, locks across sessions.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { ALICE, fourOsts, ROOT, TestMdsClient } from '../../../test/lustre/mds-fixtures.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { RpcClient } from '../protocol/rpc-client.ts';
import { type Attr, ROOT_INO } from '../types.ts';
import { type MdsServer, mdtPath, startMds } from './mdt-server.ts';
import { Store } from './store.ts';

let dir: string;
let server: MdsServer;
const clients: TestMdsClient[] = [];

async function start(extra: Partial<Parameters<typeof startMds>[0]> = {}): Promise<MdsServer> {
  server = await startMds({
    dataDir: dir,
    listen: { host: '127.0.0.1', port: 0 },
    fsname: 'fs1',
    osts: async () => fourOsts(),
    destroyObjects: async () => {},
    graceMs: 60_000,
    ...extra,
  });
  return server;
}

function client(id: string, host = 'node-a'): TestMdsClient {
  const c = new TestMdsClient(server.address, id, host);
  clients.push(c);
  return c;
}

const until = (what: string, check: () => boolean | Promise<boolean>, ms = 5_000) =>
  waitFor(what, check, { timeoutMs: ms, intervalMs: 10 });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-mds-'));
  await start();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

test('every call before connect is ENOTCONN; connect returns the root and the grace period', async () => {
  const raw = new RpcClient({ address: server.address });
  try {
    await assert.rejects(raw.call('getattr', { ino: 1 }), { code: 'ENOTCONN' });
    const r = await raw.call('connect', { clientId: 'raw', host: 'h' });
    assert.deepEqual(r.result, { rootIno: 1, fsname: 'fs1', graceMs: 60_000, lockGraceMs: 5_000 });
    assert.equal(((await raw.call('getattr', { ino: 1 })).result as Attr).ino, ROOT_INO);
    await assert.rejects(raw.call('connect', { clientId: 'other', host: 'h' }), { code: 'EINVAL' });
    await assert.rejects(raw.call('connect', { clientId: 'raw', host: 'h', fsname: 'fs2' }), {
      code: 'ENOENT',
    });
    await assert.rejects(raw.call('connect', { clientId: 'raw', host: 'h', fsname: 7 }), { code: 'EINVAL' });
    assert.equal(
      (
        (await raw.call('connect', { clientId: 'raw', host: 'h', fsname: 'fs1' })).result as {
          fsname: string;
        }
      ).fsname,
      'fs1',
    );
  } finally {
    raw.close();
  }
});

test('a namespace round trip: mkdir, create and open, write size, readdir, release', async () => {
  const c = client('c1');
  const d = await c.call('mkdir', { xid: c.nextXid(), cred: ROOT, parent: 1, name: 'd', mode: 0o755 });
  const r = await c
    .call('create', {
      xid: c.nextXid(),
      cred: ALICE,
      parent: 1,
      name: 'nope',
      mode: 0o644,
      exclusive: true,
      open: true,
      flags: 2,
    })
    .catch((e: { code: string }) => e.code);
  assert.equal(r, 'EACCES');
  const f = await c.call('create', {
    xid: c.nextXid(),
    cred: ROOT,
    parent: d.ino,
    name: 'f',
    mode: 0o644,
    exclusive: true,
    open: true,
    flags: 2,
  });
  assert.ok(f.created && f.handle !== null && f.layout.osts.length === 1);
  assert.equal((await c.call('extendSize', { ino: f.attr.ino, end: 4096 })).size, 4096);
  const entries = await c.call('readdir', { cred: ROOT, ino: d.ino, cookie: 0, limit: 10, plus: true });
  assert.deepEqual(
    entries.map((e) => [e.name, e.attr?.size]),
    [
      ['.', 4096],
      ['..', 4096],
      ['f', 4096],
    ],
  );
  assert.equal(await c.call('release', { xid: c.nextXid(), handle: f.handle! }), null);
  assert.equal((await c.call('lookup', { cred: ROOT, parent: d.ino, name: 'f' })).size, 4096);
});

test('a repeated xid returns the stored reply and has one effect, also after a restart', async () => {
  const c = client('c1');
  const args = {
    xid: 77,
    cred: ROOT,
    parent: 1,
    name: 'once',
    mode: 0o644,
    exclusive: true,
    open: true,
    flags: 2,
  } as const;
  const first = await c.call('create', args);
  const again = await c.call('create', args);
  assert.deepEqual(again, { ...first, resent: true }, 'same inode, same handle, same times; marked a repeat');
  const fresh = await c.call('create', { ...args, xid: 78 }).catch((e: { code: string }) => e.code);
  assert.equal(fresh, 'EEXIST', 'a new xid runs again');
  // An error is a reply too: the retry of a failed mkdir fails the same way even though it would succeed now.
  await c.call('mkdir', { xid: 79, cred: ROOT, parent: 1, name: 'once', mode: 0o755 }).catch(() => {});
  await c.call('unlink', { xid: 80, cred: ROOT, parent: 1, name: 'once' });
  assert.equal(await c.call('unlink', { xid: 80, cred: ROOT, parent: 1, name: 'once' }), null);
  await assert.rejects(c.call('mkdir', { xid: 79, cred: ROOT, parent: 1, name: 'once', mode: 0o755 }), {
    code: 'EEXIST',
  });
  c.close();
  await server.close();
  await start();
  const back = client('c1');
  // The reply cache survived the restart: the same inode and handle, with the inode as it is now (unlinked, still open).
  const replay = await back.call('create', args);
  assert.deepEqual(
    [replay.attr.ino, replay.handle, replay.created, replay.resent, replay.attr.nlink],
    [first.attr.ino, first.handle, true, true, 0],
  );
  const names = await back.call('readdir', { cred: ROOT, ino: 1, cookie: 2, limit: 10, plus: false });
  assert.deepEqual(names, [], 'the replay created nothing');
});

test('changes are pushed to the other sessions; setattr and extendSize to all', async () => {
  const a = client('a');
  const b = client('b');
  await b.call('getattr', { ino: 1 });
  const f = await a.call('create', {
    xid: a.nextXid(),
    cred: ROOT,
    parent: 1,
    name: 'f',
    mode: 0o644,
    exclusive: true,
    open: false,
    flags: 0,
  });
  await until('b hears of the new entry', () =>
    b.pushes.some((p) => JSON.stringify(p.args) === JSON.stringify({ kind: 'entry', parent: 1, name: 'f' })),
  );
  assert.deepEqual(a.pushes, [], 'the creator is not told about its own change');
  await a.call('setattr', { xid: a.nextXid(), cred: ROOT, ino: f.attr.ino, changes: { mode: 0o600 } });
  const inodeEvent = JSON.stringify({ kind: 'inode', ino: f.attr.ino });
  await until('both hear of the setattr', () =>
    [a, b].every((c) =>
      c.pushes.some((p) => p.method === 'invalidate' && JSON.stringify(p.args) === inodeEvent),
    ),
  );
});

test("POSIX locks conflict across clients and go when the holder's session ends", async () => {
  await server.close();
  await start({ lockGraceMs: 50 });
  const a = client('a');
  const b = client('b');
  const f = await a.call('create', {
    xid: a.nextXid(),
    cred: ROOT,
    parent: 1,
    name: 'f',
    mode: 0o644,
    exclusive: true,
    open: true,
    flags: 2,
  });
  const ino = f.attr.ino;
  const lock = { type: 'write', start: 0, end: 99, pid: 321 } as const;
  await a.call('setlk', { ino, owner: 'a:1', lock });
  await assert.rejects(b.call('setlk', { ino, owner: 'b:1', lock }), { code: 'EAGAIN' });
  assert.equal((await b.call('getlk', { ino, owner: 'b:1', lock })).pid, 321);
  await a.call('flock', { ino, handle: f.handle!, type: 'write' });
  await assert.rejects(b.call('flock', { ino, handle: f.handle!, type: 'read' }), { code: 'EBADF' });
  a.close();
  await until('the lock is dropped', async () => {
    try {
      await b.call('setlk', { ino, owner: 'b:1', lock });
      return true;
    } catch {
      return false;
    }
  });
});

test('an unlinked open file is destroyed when its client does not come back after a restart', async () => {
  const destroyed: { target: string; objects: string[] }[] = [];
  const c = client('gone');
  const f = await c.call('create', {
    xid: c.nextXid(),
    cred: ROOT,
    parent: 1,
    name: 'tmp',
    mode: 0o644,
    exclusive: true,
    open: true,
    flags: 2,
  });
  await c.call('unlink', { xid: c.nextXid(), cred: ROOT, parent: 1, name: 'tmp' });
  assert.equal((await c.call('getattr', { ino: f.attr.ino })).nlink, 0, 'still there while open');
  c.close();
  await server.close();
  await start({ graceMs: 300, destroyObjects: async (o) => void destroyed.push(o) });
  const other = client('other');
  assert.equal((await other.call('getattr', { ino: f.attr.ino })).nlink, 0, 'kept during the grace period');
  const target = `fs-OST000${f.layout.osts[0]}`;
  await until("the orphan's object is destroyed", () =>
    destroyed.some((d) => d.target === target && d.objects.includes(`${f.attr.ino}.0`)),
  );
  await assert.rejects(other.call('getattr', { ino: f.attr.ino }), { code: 'ENOENT' });
});

test('a client that reconnects within the grace period keeps its handles', async () => {
  const destroyed: string[] = [];
  const c = client('back');
  const f = await c.call('create', {
    xid: c.nextXid(),
    cred: ROOT,
    parent: 1,
    name: 'tmp',
    mode: 0o644,
    exclusive: true,
    open: true,
    flags: 2,
  });
  await c.call('unlink', { xid: c.nextXid(), cred: ROOT, parent: 1, name: 'tmp' });
  c.close();
  await server.close();
  await start({ graceMs: 2_000, destroyObjects: async (o) => void destroyed.push(...o.objects) });
  const again = client('back');
  await again.call('release', { xid: 1000, handle: f.handle! });
  await until('released orphan destroyed', () => destroyed.includes(`${f.attr.ino}.0`));
});

test('destroying objects on a failing OSS is retried until it works', async () => {
  await server.close();
  let calls = 0;
  await start({
    destroyObjects: async () => {
      calls++;
      if (calls < 3) throw new Error('OSS down');
    },
  });
  const c = client('c');
  await c.call('create', {
    xid: c.nextXid(),
    cred: ROOT,
    parent: 1,
    name: 'f',
    mode: 0o644,
    exclusive: true,
    open: false,
    flags: 0,
  });
  await c.call('unlink', { xid: c.nextXid(), cred: ROOT, parent: 1, name: 'f' });
  await until('three attempts', () => calls >= 3, 10_000);
  await server.close();
  const store = new Store(mdtPath(dir, 'fs1'));
  try {
    assert.equal(store.pendingCount(), 0, 'the destroy log is empty once the OSS confirmed');
  } finally {
    store.close();
  }
  await start();
});
