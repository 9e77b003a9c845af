// Lock replay over a real MDS restart: live clients re-assert their locks in the recovery window; nobody else gets a lock before it closes; a gone client's locks are not there after.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fourOsts, ROOT } from '../../../test/lustre/mds-fixtures.ts';
import { HeldLocks } from '../client/held-locks.ts';
import { MdsSession } from '../client/mds-session.ts';
import { ROOT_INO } from '../types.ts';
import { type MdsServer, startMds } from './mdt-server.ts';

const LOCK_GRACE_MS = 1_500;

test('after an MDS restart: a live client’s replayed lock holds, a gone client’s lock is granted to another only after the window', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-lock-replay-'));
  const path = join(dir, 'mds.sock');
  const start = () =>
    startMds({
      dataDir: dir,
      listen: { path },
      fsname: 'fs1',
      osts: async () => fourOsts(),
      destroyObjects: async () => {},
      graceMs: 60_000,
      lockGraceMs: LOCK_GRACE_MS,
    });
  let server: MdsServer = await start();
  const sessions: MdsSession[] = [];
  t.after(async () => {
    for (const s of sessions) s.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  /** A client that keeps what it holds and replays it on every connect, as LustreClient does. */
  const client = (clientId: string) => {
    const held = new HeldLocks();
    const s = new MdsSession({
      address: `unix:${path}`,
      fsname: 'fs1',
      clientId,
      host: 'h',
      replay: () => held.replay(),
    });
    sessions.push(s);
    const setlk = async (ino: number, owner: string, start: number, end: number) => {
      const lock = { type: 'write' as const, start, end, pid: 1 };
      await s.call('setlk', { ino, owner, lock });
      held.setlk(ino, owner, lock);
    };
    return { s, setlk };
  };
  const live = client('live');
  const gone = client('gone');
  const f = await live.s.mutate('create', {
    cred: ROOT,
    parent: ROOT_INO,
    name: 'f',
    mode: 0o644,
    exclusive: true,
    open: false,
    flags: 0,
  });
  const ino = f.attr.ino;
  await live.setlk(ino, 'live:1', 0, 99);
  await gone.setlk(ino, 'gone:1', 200, 299);

  await server.close();
  gone.s.close(); // its mount died with the MDS: it will not re-assert anything
  // The window opens inside start(), before it resolves: measured from before the call, the time a
  // grant waited is never longer than the window, however slowly start() returns under load.
  const restarting = Date.now();
  server = await start();

  const other = client('other');
  // Asked at once: the live client's lock was re-asserted (it reconnects and replays), so this conflicts.
  await assert.rejects(other.setlk(ino, 'other:1', 50, 60), { code: 'EAGAIN' });
  // The gone client's range: not granted while its owner could still come back, then granted.
  await other.setlk(ino, 'other:1', 250, 260);
  assert.ok(
    // (5 ms for the timer's clock, the event loop's, against Date.now()'s.)
    Date.now() - restarting >= LOCK_GRACE_MS - 5,
    'the lock a gone client held was granted only once the recovery window was over',
  );
  await assert.rejects(
    other.setlk(ino, 'other:1', 0, 10),
    { code: 'EAGAIN' },
    'the live client still holds its lock',
  );
});
