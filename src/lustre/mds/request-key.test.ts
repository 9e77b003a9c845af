// Mutations keyed by (mount id, kernel request id): a resend from a new daemon gets the first reply (reserveAppend's range, a namespace change's result, a create's with a handle of its own), across an MDS restart.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { ALICE, fourOsts, ROOT, TestMdsClient } from '../../../test/lustre/mds-fixtures.ts';
import { type MdsServer, startMds } from './mdt-server.ts';

let dir: string;
let server: MdsServer;
const clients: TestMdsClient[] = [];

async function start(): Promise<void> {
  server = await startMds({
    dataDir: dir,
    listen: { host: '127.0.0.1', port: 0 },
    fsname: 'fs1',
    osts: async () => fourOsts(),
    destroyObjects: async () => {},
    graceMs: 0,
  });
}

function client(id: string): TestMdsClient {
  const c = new TestMdsClient(server.address, id);
  clients.push(c);
  return c;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-mds-key-'));
  await start();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function appendFile(c: TestMdsClient): Promise<number> {
  const f = await c.call('create', {
    xid: c.nextXid(),
    cred: ROOT,
    parent: 1,
    name: 'log',
    mode: 0o644,
    exclusive: true,
    open: true,
    flags: 0o2002,
  });
  return f.attr.ino;
}

test('the same (mount, request) key from a new client gets the range of the first; other keys get new ranges', async () => {
  const dead = client('daemon-1');
  const ino = await appendFile(dead);
  const key = { mount: 'm-1', request: 4242 };
  const first = await dead.call('reserveAppend', { xid: dead.nextXid(), ino, length: 10, key });
  assert.equal(first.size, 10);
  // The next daemon of the same mount is another client with its own xids: the key alone matches.
  const next = client('daemon-2');
  const resent = await next.call('reserveAppend', { xid: next.nextXid(), ino, length: 10, key });
  assert.equal(resent.size, 10, 'the resent write lands on the bytes the first one reserved');
  const other = await next.call('reserveAppend', {
    xid: next.nextXid(),
    ino,
    length: 10,
    key: { ...key, request: 4243 },
  });
  assert.equal(other.size, 20, 'a new request gets a new range');
  const otherMount = await next.call('reserveAppend', {
    xid: next.nextXid(),
    ino,
    length: 10,
    key: { mount: 'm-2', request: 4242 },
  });
  assert.equal(otherMount.size, 30, 'the same request id on another mount is another request');
  const unkeyed = await next.call('reserveAppend', { xid: next.nextXid(), ino, length: 5 });
  assert.equal(unkeyed.size, 35);
  assert.equal((await next.call('getattr', { ino })).size, 35, 'the resend did not grow the file');
});

test('a key survives an MDS restart; a malformed key is EINVAL and changes nothing', async () => {
  const c = client('daemon-1');
  const ino = await appendFile(c);
  const key = { mount: 'm-1', request: 7 };
  assert.equal((await c.call('reserveAppend', { xid: c.nextXid(), ino, length: 3, key })).size, 3);
  c.close();
  await server.close();
  await start();
  const next = client('daemon-2');
  assert.equal((await next.call('reserveAppend', { xid: next.nextXid(), ino, length: 3, key })).size, 3);
  for (const bad of [
    { mount: '', request: 1 },
    { mount: 'a b', request: 1 },
    { mount: 'm', request: 0 },
  ]) {
    await assert.rejects(next.call('reserveAppend', { xid: next.nextXid(), ino, length: 3, key: bad }), {
      code: 'EINVAL',
    });
  }
  assert.equal((await next.call('getattr', { ino })).size, 3);
});

let request = 100;
const key = () => ({ mount: 'm-1', request: ++request });

async function names(c: TestMdsClient, ino = 1): Promise<string[]> {
  const entries = await c.call('readdir', { cred: ROOT, ino, cookie: 0, limit: 100, plus: false });
  return entries.map((e) => e.name).filter((n) => n !== '.' && n !== '..');
}

test('a resent O_EXCL create succeeds once, with an open handle of the new client', async () => {
  const dead = client('daemon-1');
  const next = client('daemon-2');
  const k = key();
  const home = await dead.call('mkdir', {
    xid: dead.nextXid(),
    cred: ROOT,
    parent: 1,
    name: 'home',
    mode: 0o777,
  });
  // O_WRONLY | O_CREAT | O_EXCL with mode 0444: only the creator may write it.
  const args = {
    cred: ALICE,
    parent: home.ino,
    name: 'f',
    mode: 0o444,
    exclusive: true,
    open: true,
    flags: 0o301,
  };
  const first = await dead.call('create', { ...args, xid: dead.nextXid(), key: k });
  const resent = await next.call('create', { ...args, xid: next.nextXid(), key: k });
  assert.equal(resent.created, true, 'the resend answers as the create did');
  assert.equal(resent.attr.ino, first.attr.ino);
  assert.ok(resent.handle !== null && resent.handle !== first.handle, 'a handle of its own');
  // Its own retry of the same key (an MDS restart in between) gets its own handle back.
  const again = await next.call('create', { ...args, xid: next.nextXid(), key: k });
  assert.equal(again.handle, resent.handle);
  // The new client's handle is its own: it writes (ftruncate through it) and releases it.
  await next.call('setattr', {
    xid: next.nextXid(),
    cred: ALICE,
    ino: first.attr.ino,
    changes: { size: 5, fh: resent.handle },
  });
  await next.call('release', { xid: next.nextXid(), handle: resent.handle });
  await assert.rejects(next.call('release', { xid: next.nextXid(), handle: first.handle! }), {
    code: 'EBADF',
  });
  // Without the key, the same create is a new request: EEXIST.
  await assert.rejects(next.call('create', { ...args, xid: next.nextXid(), key: key() }), { code: 'EEXIST' });
  assert.deepEqual(await names(next, home.ino), ['f']);
});

test('resent mkdir, mknod, symlink, link, setxattr, removexattr, setattr, rename, unlink and rmdir answer as the first', async () => {
  const dead = client('daemon-1');
  const next = client('daemon-2');
  const twice = async <R>(call: (c: TestMdsClient, k: { mount: string; request: number }) => Promise<R>) => {
    const k = key();
    const first = await call(dead, k);
    assert.deepEqual(await call(next, k), first);
    return first;
  };
  const d = await twice((c, k) =>
    c.call('mkdir', { xid: c.nextXid(), key: k, cred: ROOT, parent: 1, name: 'd', mode: 0o755 }),
  );
  await twice((c, k) =>
    c.call('mknod', { xid: c.nextXid(), key: k, cred: ROOT, parent: 1, name: 'p', mode: 0o10644, rdev: 0 }),
  );
  await twice((c, k) =>
    c.call('symlink', { xid: c.nextXid(), key: k, cred: ROOT, parent: 1, name: 's', target: 'd' }),
  );
  const f = await dead.call('create', {
    xid: dead.nextXid(),
    cred: ROOT,
    parent: 1,
    name: 'f',
    mode: 0o644,
    exclusive: true,
    open: false,
    flags: 0,
  });
  const linked = await twice((c, k) =>
    c.call('link', { xid: c.nextXid(), key: k, cred: ROOT, ino: f.attr.ino, newParent: d.ino, newName: 'h' }),
  );
  assert.equal(linked.nlink, 2, 'linked once');
  const value = Buffer.from('v').toString('base64');
  await twice((c, k) =>
    c.call('setxattr', { xid: c.nextXid(), key: k, cred: ROOT, ino: d.ino, name: 'user.k', value, flags: 1 }),
  );
  await twice((c, k) =>
    c.call('removexattr', { xid: c.nextXid(), key: k, cred: ROOT, ino: d.ino, name: 'user.k' }),
  );
  // setattr's repeated reply says it is one (a resent truncate cuts nothing again).
  const chmod = (c: TestMdsClient, k: { mount: string; request: number }) =>
    c.call('setattr', { xid: c.nextXid(), key: k, cred: ROOT, ino: f.attr.ino, changes: { mode: 0o600 } });
  const k = key();
  const chmodded = await chmod(dead, k);
  assert.deepEqual(await chmod(next, k), { ...chmodded, resent: true });
  // rename over a target: the resend neither fails (ENOENT) nor moves anything else.
  await twice((c, k) =>
    c.call('rename', {
      xid: c.nextXid(),
      key: k,
      cred: ROOT,
      parent: 1,
      name: 'f',
      newParent: 1,
      newName: 'p',
      flags: 0,
    }),
  );
  await twice((c, k) => c.call('unlink', { xid: c.nextXid(), key: k, cred: ROOT, parent: d.ino, name: 'h' }));
  await twice((c, k) => c.call('rmdir', { xid: c.nextXid(), key: k, cred: ROOT, parent: 1, name: 'd' }));
  assert.deepEqual((await names(next)).sort(), ['p', 's']);
  const p = await next.call('lookup', { cred: ROOT, parent: 1, name: 'p' });
  assert.deepEqual([p.ino, p.nlink, p.mode & 0o7777], [f.attr.ino, 1, 0o600]);
});

test('a failed change resent gets the same errno; keys survive an MDS restart; a malformed key changes nothing', async () => {
  const c = client('daemon-1');
  const k = key();
  const mkdir = (m: TestMdsClient, name: string, kk: unknown) =>
    m.call('mkdir', { xid: m.nextXid(), key: kk as never, cred: ROOT, parent: 1, name, mode: 0o755 });
  // EEXIST, then the name goes: run again, the resend would succeed and make it.
  await mkdir(c, 'e', key());
  await assert.rejects(mkdir(c, 'e', k), { code: 'EEXIST' });
  await c.call('rmdir', { xid: c.nextXid(), key: key(), cred: ROOT, parent: 1, name: 'e' });
  const made = await mkdir(c, 'x', key());
  const k2 = { mount: 'm-1', request: request };
  c.close();
  await server.close();
  await start();
  const next = client('daemon-2');
  await assert.rejects(mkdir(next, 'e', k), { code: 'EEXIST' });
  assert.deepEqual(await mkdir(next, 'x', k2), made, 'the reply outlives the restart');
  for (const bad of [
    { mount: '', request: 1 },
    { mount: 'a b', request: 1 },
    { mount: 'm', request: 0 },
  ]) {
    await assert.rejects(mkdir(next, 'y', bad), { code: 'EINVAL' });
  }
  assert.deepEqual(await names(next), ['x']);
});

test('a resent O_TRUNC create says it is one; the truncate its first client left unpunched is the MDS’s to finish first', async () => {
  const dead = client('daemon-1');
  const next = client('daemon-2');
  const f = await dead.call('create', {
    xid: dead.nextXid(),
    cred: ROOT,
    parent: 1,
    name: 'f',
    mode: 0o644,
    exclusive: true,
    open: false,
    flags: 0,
  });
  await dead.call('setattr', { xid: dead.nextXid(), cred: ROOT, ino: f.attr.ino, changes: { size: 10 } });
  // O_WRONLY | O_CREAT | O_TRUNC of the existing file; the client dies before it cuts the objects.
  const args = { cred: ROOT, parent: 1, name: 'f', mode: 0o644, exclusive: false, open: true, flags: 0o1101 };
  const k = key();
  const first = await dead.call('create', { ...args, xid: dead.nextXid(), key: k });
  assert.deepEqual([first.created, first.attr.size, first.resent], [false, 0, undefined]);
  // This MDS reaches no OST: it cannot finish the pending cut, and does not hand it to the resender.
  await assert.rejects(next.call('create', { ...args, xid: next.nextXid(), key: k }), {
    code: 'EIO',
    message: /an earlier truncate of inode \d+ is not finished on its OSTs/,
  });
  await next.call('punched', { ino: f.attr.ino, size: 0 });
  const resent = await next.call('create', { ...args, xid: next.nextXid(), key: k });
  assert.deepEqual(
    [resent.resent, resent.punch, resent.attr.size],
    [true, undefined, 0],
    'not truncated again',
  );
  const again = await next.call('create', { ...args, xid: next.nextXid(), key: k });
  assert.deepEqual([again.resent, again.punch, again.handle], [true, undefined, resent.handle]);
  // Once both daemons closed what they were given, nobody has the file open for writing: the
  // refused resend's handle is the one its retry got, not one more left open (another client's
  // getattr would then glimpse the OSTs).
  await dead.call('release', { xid: dead.nextXid(), handle: first.handle! });
  await next.call('release', { xid: next.nextXid(), handle: resent.handle! });
  const observer = client('observer');
  assert.equal((await observer.call('getattr', { ino: f.attr.ino })).sizeOnOsts, undefined);
});
