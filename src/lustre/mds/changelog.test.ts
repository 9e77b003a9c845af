import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ALICE, fourOsts, ROOT } from '../../../test/lustre/mds-fixtures.ts';
import { RpcClient } from '../protocol/rpc-client.ts';
import { type MdsServer, startMds } from './mdt-server.ts';

let dir: string;
let server: MdsServer;
let user: RpcClient;
let xid = 1;

async function rpc(c: RpcClient, method: string, args: unknown): Promise<unknown> {
  return (await c.call(method, args)).result;
}
async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}
async function start(): Promise<void> {
  server = await startMds({
    dataDir: dir,
    listen: { host: '127.0.0.1', port: 0 },
    fsname: 'fs',
    osts: async () => fourOsts(),
    destroyObjects: async () => {},
  });
  user = new RpcClient({ address: server.address, timeoutMs: 30_000 });
  await user.call('connect', { clientId: 'user', host: 'h' });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-mds-changelog-'));
  await start();
});
after(async () => {
  user.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

type Rec = { seq: number; type: string; path: string; oldPath?: string; agent: boolean };
const read = async (u: string) => (await rpc(user, 'changelogRead', { user: u, limit: 100 })) as Rec[];
const brief = (rs: Rec[]) =>
  rs.map((r) => (r.oldPath ? `${r.type} ${r.oldPath} -> ${r.path}` : `${r.type} ${r.path}`));

test('changes are recorded once a user registers, with paths; each user has its own cursor, kept across an MDS restart', async () => {
  const mk = async (parent: number, name: string, open = false) =>
    (await rpc(user, 'create', {
      xid: xid++,
      cred: ROOT,
      parent,
      name,
      mode: 0o100644,
      exclusive: true,
      open,
      flags: open ? 1 : 0,
    })) as { attr: { ino: number }; handle: number | null };
  await mk(1, 'before-anyone');
  assert.equal(await code(rpc(user, 'changelogRegister', { cred: ALICE, user: 'a' })), 'EPERM', 'root only');
  assert.equal(await code(read('a')), 'ENOENT', 'never registered');
  await rpc(user, 'changelogRegister', { cred: ROOT, user: 'a' });
  const d = (await rpc(user, 'mkdir', { xid: xid++, cred: ROOT, parent: 1, name: 'd', mode: 0o40755 })) as {
    ino: number;
  };
  const f = await mk(d.ino, 'f', true);
  await rpc(user, 'release', { xid: xid++, handle: f.handle });
  await rpc(user, 'rename', {
    xid: xid++,
    cred: ROOT,
    parent: d.ino,
    name: 'f',
    newParent: 1,
    newName: 'g',
    flags: 0,
  });
  await rpc(user, 'rename', {
    xid: xid++,
    cred: ROOT,
    parent: 1,
    name: 'd',
    newParent: 1,
    newName: 'e',
    flags: 0,
  });
  await rpc(user, 'unlink', { xid: xid++, cred: ROOT, parent: 1, name: 'g' });
  await rpc(user, 'rmdir', { xid: xid++, cred: ROOT, parent: 1, name: 'e' });
  await code(rpc(user, 'unlink', { xid: xid++, cred: ROOT, parent: 1, name: 'missing' }));
  const all = await read('a');
  assert.deepEqual(brief(all), [
    'CREAT /d',
    'CREAT /d/f',
    'CLOSE /d/f',
    'RENME /d/f -> /g',
    'RENME /d -> /e',
    'UNLNK /g',
    'RMDIR /e',
  ]);
  assert.ok(all.every((r) => !r.agent));
  await rpc(user, 'changelogRegister', { cred: ROOT, user: 'b' });
  assert.deepEqual(await read('b'), [], 'a new user starts at the end');
  await rpc(user, 'changelogClear', { user: 'a', upTo: all[2]!.seq });
  assert.equal((await read('a')).length, 4);

  user.close();
  await server.close();
  await start();
  assert.deepEqual(
    brief(await read('a')),
    brief(all.slice(3)),
    "a's cursor and the records survive a restart",
  );
  await mk(1, 'later');
  assert.deepEqual(brief(await read('b')), ['CREAT /later']);
  await rpc(user, 'changelogDeregister', { cred: ROOT, user: 'a' });
  await rpc(user, 'changelogDeregister', { cred: ROOT, user: 'b' });
  await mk(1, 'nobody-listens');
  await rpc(user, 'changelogRegister', { cred: ROOT, user: 'c' });
  assert.deepEqual(await read('c'), [], 'nothing recorded while no user was registered');
});

test('SATTR is recorded for chmod, chown, utimes and truncate, not for atime alone; changelogWait answers when a change is committed', async () => {
  await rpc(user, 'changelogRegister', { cred: ROOT, user: 'w' });
  const made = (await rpc(user, 'create', {
    xid: xid++,
    cred: ROOT,
    parent: 1,
    name: 'attrs',
    mode: 0o100644,
    exclusive: true,
    open: false,
    flags: 0,
  })) as { attr: { ino: number } };
  const setattr = (changes: object) =>
    rpc(user, 'setattr', { xid: xid++, cred: ROOT, ino: made.attr.ino, changes });
  const last = (await rpc(user, 'changelogWait', { after: -1, waitMs: 0 })) as number;
  assert.equal(await rpc(user, 'changelogWait', { after: last, waitMs: 0 }), last, 'nothing new: at once');
  // A long poll waiting for the next change, answered by the chmod.
  const waiting = rpc(user, 'changelogWait', { after: last, waitMs: 20_000 });
  await setattr({ mode: 0o100600 });
  assert.ok(((await waiting) as number) > last);
  await setattr({ uid: 7, gid: 8 });
  await setattr({ atimeMs: 1_000 });
  await setattr({ atimeMs: 2_000, mtimeMs: 3_000 });
  await setattr({ size: 10 });
  const rs = (await read('w')).filter((r) => r.path === '/attrs');
  assert.deepEqual(brief(rs), [
    'CREAT /attrs',
    'SATTR /attrs',
    'SATTR /attrs',
    'SATTR /attrs',
    'SATTR /attrs',
  ]);
  await rpc(user, 'changelogDeregister', { cred: ROOT, user: 'w' });
});
