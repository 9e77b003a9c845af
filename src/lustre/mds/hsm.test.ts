import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  codeOf,
  type LoopbackMds,
  rootFile,
  rpc,
  startLoopbackMds,
} from '../../../test/lustre/loopback-mds.ts';
import { ALICE, BOB, ROOT } from '../../../test/lustre/mds-fixtures.ts';
import { waitFor } from '../../lib/wait-for.ts';
import type { RpcClient } from '../protocol/rpc-client.ts';
import { HS_ARCHIVED, HS_DIRTY, HS_EXISTS, HS_NORELEASE, HS_RELEASED } from './hsm.ts';

let mds: LoopbackMds;
let user: RpcClient;
let agent: RpcClient;
const destroyed: string[] = [];
let xid = 1;

before(async () => {
  mds = await startLoopbackMds({
    fsname: 'fs',
    destroyObjects: async (o) => {
      destroyed.push(...o.objects);
    },
  });
  user = await mds.rpcClient('user');
  agent = await mds.rpcClient('agent');
});
after(() => mds?.close());

const file = (name: string) =>
  rootFile(user, name, { size: 5000, uid: ALICE.uid, gid: ALICE.gid }, () => xid++);

const state = async (ino: number) =>
  (await rpc(user, 'hsmState', { ino })) as { flags: number; location: string | null };
const code = codeOf;

test('hsm flags: only root archives, the owner sets norelease, released is never set by hand', async () => {
  const ino = await file('flags');
  assert.deepEqual(await state(ino), { flags: 0, archiveId: 0, location: null, open: false, dataVersion: 1 });
  assert.equal(
    await code(rpc(user, 'hsmSet', { xid: xid++, cred: ALICE, ino, set: HS_ARCHIVED, clear: 0 })),
    'EPERM',
  );
  assert.equal(
    await code(rpc(user, 'hsmSet', { xid: xid++, cred: BOB, ino, set: HS_NORELEASE, clear: 0 })),
    'EPERM',
  );
  assert.equal(
    await code(rpc(user, 'hsmSet', { xid: xid++, cred: ROOT, ino, set: HS_RELEASED, clear: 0 })),
    'EINVAL',
  );
  assert.equal(
    await code(rpc(user, 'hsmSet', { xid: xid++, cred: ROOT, ino, set: 0x100, clear: 0 })),
    'EINVAL',
  );
  const s = (await rpc(user, 'hsmSet', {
    xid: xid++,
    cred: ROOT,
    ino,
    set: HS_ARCHIVED,
    clear: 0,
    archiveId: 1,
    location: 's3://b/k',
  })) as {
    flags: number;
  };
  assert.equal(s.flags, HS_EXISTS | HS_ARCHIVED, 'archived implies exists');
  assert.equal((await state(ino)).location, 's3://b/k');
});

test('hsmArchived: clean only if the file is still the version read; changed, written or new files stay dirty', async () => {
  type Archived = { flags: number; clean: boolean; location: string | null };
  const attrOf = async (ino: number) =>
    (await rpc(user, 'getattr', { ino })) as { mtimeMs: number; size: number };
  const archived = async (ino: number, asOf: { mtimeMs: number; size: number }, cred = ROOT) =>
    (await rpc(agent, 'hsmArchived', {
      xid: xid++,
      cred,
      ino,
      archiveId: 1,
      location: `s3://b/${ino}`,
      asOf,
    })) as Archived;
  const ino = await file('archived');
  const a = await attrOf(ino);
  assert.equal(await code(archived(ino, a, ALICE)), 'EPERM');
  assert.deepEqual(await archived(ino, a), {
    flags: HS_EXISTS | HS_ARCHIVED,
    archiveId: 1,
    location: `s3://b/${ino}`,
    clean: true,
  });
  // A file with no HSM state that changed while it was read: archived, and dirty (never released over the change).
  const fresh = await file('changed');
  const old = await attrOf(fresh);
  await rpc(user, 'setattr', { xid: xid++, cred: ROOT, ino: fresh, changes: { size: 6000 } });
  const changed = await archived(fresh, old);
  assert.equal(changed.clean, false);
  assert.equal(changed.flags, HS_EXISTS | HS_ARCHIVED | HS_DIRTY);
  // Still open for writing by another client when the upload ends: its bytes may not have reached the MDS.
  const w = (await rpc(user, 'open', { xid: xid++, cred: ROOT, ino: fresh, flags: 1 })) as { handle: number };
  assert.equal((await archived(fresh, await attrOf(fresh))).clean, false);
  await rpc(user, 'release', { xid: xid++, handle: w.handle });
  const now = await archived(fresh, await attrOf(fresh));
  assert.equal(now.flags, HS_EXISTS | HS_ARCHIVED, 'the same version, nobody writing: clean');
  assert.equal(await code(archived(1, { mtimeMs: 0, size: 0 })), 'EINVAL', 'a directory');
});

test('release frees the objects, keeps size and layout; a dirty, unarchived or open file is not released', async () => {
  const ino = await file('rel');
  assert.equal(await code(rpc(user, 'hsmRelease', { xid: xid++, cred: ROOT, ino })), 'EPERM', 'not archived');
  await rpc(user, 'hsmSet', {
    xid: xid++,
    cred: ROOT,
    ino,
    set: HS_ARCHIVED,
    clear: 0,
    location: 's3://b/rel',
  });
  const h = (await rpc(user, 'open', { xid: xid++, cred: ALICE, ino, flags: 0 })) as { handle: number };
  assert.equal(await code(rpc(user, 'hsmRelease', { xid: xid++, cred: ALICE, ino })), 'EBUSY', 'open');
  await rpc(user, 'release', { xid: xid++, handle: h.handle });
  const before = (await rpc(user, 'getstripe', { ino })) as { layout: unknown };
  const r = (await rpc(user, 'hsmRelease', { xid: xid++, cred: ALICE, ino })) as { flags: number };
  assert.equal(r.flags, HS_EXISTS | HS_ARCHIVED | HS_RELEASED);
  const attr = (await rpc(user, 'getattr', { ino })) as { size: number; blocks: number };
  assert.equal(attr.size, 5000);
  assert.equal(attr.blocks, 0);
  assert.deepEqual(await rpc(user, 'getstripe', { ino }), before);
  await waitFor(`objects of ${ino} destroyed`, () => destroyed.some((o) => o.startsWith(`${ino}.`)), {
    timeoutMs: 10_000,
    intervalMs: 20,
  });

  const dirty = await file('dirty');
  await rpc(user, 'hsmSet', { xid: xid++, cred: ROOT, ino: dirty, set: HS_ARCHIVED, clear: 0 });
  const w = (await rpc(user, 'open', { xid: xid++, cred: ALICE, ino: dirty, flags: 1 })) as {
    handle: number;
  };
  await rpc(user, 'release', { xid: xid++, handle: w.handle });
  assert.equal((await state(dirty)).flags, HS_EXISTS | HS_ARCHIVED | HS_DIRTY, 'opened for writing: dirty');
  assert.equal(await code(rpc(user, 'hsmRelease', { xid: xid++, cred: ROOT, ino: dirty })), 'EPERM');
});

test('a released file: one restore for all openers; readers go on per loaded piece, writers wait for the whole file; a failure is EIO', async () => {
  const ino = await file('lazy');
  await rpc(user, 'hsmSet', {
    xid: xid++,
    cred: ROOT,
    ino,
    set: HS_ARCHIVED,
    clear: 0,
    location: 's3://b/lazy',
  });
  await rpc(user, 'hsmRelease', { xid: xid++, cred: ROOT, ino });
  await rpc(agent, 'hsmAgentPoll', { timeoutMs: 0 });
  type Opened = { handle: number; loading?: boolean };
  const readers = (await Promise.all(
    [1, 2].map(() => rpc(user, 'open', { xid: xid++, cred: ALICE, ino, flags: 0 })),
  )) as Opened[];
  assert.deepEqual(
    readers.map((r) => r.loading),
    [true, true],
    'readers open at once, told the file is loading',
  );
  let wrote = false;
  const writer = (rpc(user, 'open', { xid: xid++, cred: ALICE, ino, flags: 2 }) as Promise<Opened>).then(
    (w) => {
      wrote = true;
      return w;
    },
  );
  const req = (await rpc(agent, 'hsmAgentPoll', { timeoutMs: 10_000 })) as {
    ino: number;
    location: string;
    token: string;
  };
  assert.deepEqual([req.ino, req.location], [ino, 's3://b/lazy']);
  assert.equal(await rpc(agent, 'hsmAgentPoll', { timeoutMs: 100 }), null, 'one restore for three openers');
  // The file is 5000 bytes in pieces of 4096: a reader of byte 4500 is served first.
  const tail = rpc(user, 'hsmWaitRange', { ino, offset: 4500, length: 100 });
  const head = rpc(user, 'hsmWaitRange', { ino, offset: 0, length: 10 });
  const next = (loaded: number[], token = req.token) =>
    rpc(agent, 'hsmLoadNext', { ino, token, size: 5000, chunkBytes: 4096, loaded });
  assert.equal(await next([]), 1, 'the piece a reader waits for goes first');
  assert.equal(await next([]), 0);
  assert.equal(await next([]), null, 'every piece handed out');
  assert.equal(await code(next([], 'someone-else')), 'ESTALE', "another agent's token");
  assert.equal(await next([1]), null);
  assert.equal(await tail, false, 'its range is loaded, the file is not yet');
  let headDone = false;
  void head.then(() => {
    headDone = true;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(headDone, false, 'piece 0 is not loaded yet');
  assert.equal(await next([0]), null);
  assert.equal(await head, false);
  assert.equal(wrote, false, 'a writer waits for the whole file');
  assert.equal(
    (await state(ino)).flags & HS_RELEASED,
    HS_RELEASED,
    'released until the agent ends the restore',
  );
  const stale = (await rpc(agent, 'hsmRestoreDone', {
    xid: xid++,
    ino,
    error: null,
    mtimeMs: null,
    token: 'old',
  })) as { flags: number };
  assert.equal(stale.flags & HS_RELEASED, HS_RELEASED, "a stale agent's end changes nothing");
  const done = (await rpc(agent, 'hsmRestoreDone', {
    xid: xid++,
    ino,
    error: null,
    mtimeMs: 1_600_000_000_000,
    token: req.token,
  })) as { flags: number };
  assert.equal(done.flags, HS_EXISTS | HS_ARCHIVED);
  assert.equal(await rpc(user, 'hsmWaitRange', { ino, offset: 0, length: 10 }), true, 'whole file');
  for (const h of [...readers, await writer]) await rpc(user, 'release', { xid: xid++, handle: h.handle });
  assert.equal((await state(ino)).flags, HS_EXISTS | HS_ARCHIVED | HS_DIRTY, 'the writer made it dirty');
  await rpc(user, 'hsmSet', { xid: xid++, cred: ROOT, ino, set: 0, clear: HS_DIRTY });

  await rpc(user, 'hsmRelease', { xid: xid++, cred: ROOT, ino });
  const r = (await rpc(user, 'open', { xid: xid++, cred: ALICE, ino, flags: 0 })) as Opened;
  const failing = code(rpc(user, 'hsmWaitRange', { ino, offset: 0, length: 10 }));
  const failingOpen = code(rpc(user, 'open', { xid: xid++, cred: ALICE, ino, flags: 1 }));
  const again = (await rpc(agent, 'hsmAgentPoll', { timeoutMs: 10_000 })) as { ino: number; token: string };
  await rpc(agent, 'hsmRestoreDone', {
    xid: xid++,
    ino: again.ino,
    error: 'S3 unavailable',
    mtimeMs: null,
    token: again.token,
  });
  assert.equal(await failing, 'EIO');
  assert.equal(await failingOpen, 'EIO');
  await rpc(user, 'release', { xid: xid++, handle: r.handle });
  assert.equal((await state(ino)).flags & HS_RELEASED, HS_RELEASED, 'still released after a failed restore');
  assert.equal(
    await code(
      rpc(user, 'hsmRestoreDone', { xid: xid++, ino, error: null, mtimeMs: null, token: again.token }),
    ),
    'EPERM',
    'not an agent',
  );
});

test('truncating a released file to zero needs no restore and leaves it dirty, not released', async () => {
  const ino = await file('trunc');
  await rpc(user, 'hsmSet', { xid: xid++, cred: ROOT, ino, set: HS_ARCHIVED, clear: 0 });
  await rpc(user, 'hsmRelease', { xid: xid++, cred: ROOT, ino });
  const h = (await rpc(user, 'open', { xid: xid++, cred: ALICE, ino, flags: 0o1001 })) as { handle: number };
  await rpc(user, 'release', { xid: xid++, handle: h.handle });
  assert.equal((await state(ino)).flags, HS_EXISTS | HS_ARCHIVED | HS_DIRTY);
});

test('a newer archived version replaces a closed file in one step; never an open one', async () => {
  const ino = await file('replaced');
  const replacement = {
    size: 777,
    mode: 0o600,
    uid: 7,
    gid: 8,
    atimeMs: 1000,
    mtimeMs: 2000,
    location: 's3://b/new',
    archiveId: 1,
  };
  const h = (await rpc(user, 'open', { xid: xid++, cred: ALICE, ino, flags: 0 })) as { handle: number };
  assert.equal(await code(rpc(user, 'hsmReplace', { xid: xid++, cred: ROOT, ino, replacement })), 'EBUSY');
  assert.equal(await code(rpc(user, 'hsmReplace', { xid: xid++, cred: ALICE, ino, replacement })), 'EPERM');
  await rpc(user, 'release', { xid: xid++, handle: h.handle });
  const s = (await rpc(user, 'hsmReplace', { xid: xid++, cred: ROOT, ino, replacement })) as {
    flags: number;
  };
  assert.equal(s.flags, HS_EXISTS | HS_ARCHIVED | HS_RELEASED);
  const attr = (await rpc(user, 'getattr', { ino })) as {
    size: number;
    mode: number;
    uid: number;
    gid: number;
    mtimeMs: number;
  };
  assert.deepEqual(
    [attr.size, attr.mode & 0o7777, attr.uid, attr.gid, attr.mtimeMs],
    [777, 0o600, 7, 8, 2000],
  );
  assert.equal((await state(ino)).location, 's3://b/new');
});
