// Cache locks between two clients of a real MDS on loopback: the holder drops its cache before the other is granted; a silent holder is evicted.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type LoopbackMds, startLoopbackMds } from '../../../test/lustre/loopback-mds.ts';
import { TestMdsClient } from '../../../test/lustre/mds-fixtures.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { ldlmSettings } from '../mds/ldlm-service.ts';
import { ROOT_CREDENTIALS } from '../types.ts';
import type { MdsSession } from './mds-session.ts';

let mds: LoopbackMds;
const savedTimeout = ldlmSettings.callbackTimeoutMs;

before(async () => {
  ldlmSettings.callbackTimeoutMs = 300;
  mds = await startLoopbackMds();
});
after(async () => {
  await mds.close();
  ldlmSettings.callbackTimeoutMs = savedTimeout;
});

const client = (id: string) => mds.lockClient(id);

async function newFile(mds: MdsSession, name: string): Promise<number> {
  const r = await mds.mutate('create', {
    cred: ROOT_CREDENTIALS,
    parent: 1,
    name,
    mode: 0o644,
    exclusive: true,
    open: false,
    flags: 0,
  });
  return r.attr.ino;
}

test('a conflicting lock is granted only after the holder dropped its cache and cancelled', async () => {
  const a = client('a');
  const b = client('b');
  const ino = await newFile(a.mds, 'f');
  const events: string[] = [];
  a.locks.onRevoke(async (lock) => {
    events.push(`a drops ${lock.mode}`);
    await new Promise((r) => setImmediate(r));
    events.push('a dropped');
  });
  const pw = await a.locks.acquire({ ino, kind: 'data', mode: 'PW' });
  assert.equal(await a.locks.acquire({ ino, kind: 'data', mode: 'PR' }), pw, 'a held PW covers PR');
  await b.locks.acquire({ ino, kind: 'data', mode: 'PR' });
  events.push('b granted');
  assert.deepEqual(events, ['a drops PW', 'a dropped', 'b granted']);
  assert.deepEqual(a.locks.held(ino), []);
  // Two readers share; a writer calls the reader back.
  await a.locks.acquire({ ino, kind: 'data', mode: 'PR' });
  assert.equal(b.locks.held(ino).length, 1, 'PR locks are shared');
  let bRevoked = 0;
  b.locks.onRevoke(async () => {
    bRevoked++;
  });
  await a.locks.acquire({ ino, kind: 'data', mode: 'PW' });
  assert.equal(bRevoked, 1);
  assert.deepEqual(b.locks.held(ino), []);
});

test('a holder that never answers is evicted: the waiter is granted, its calls fail with EIO until it reconnects', async () => {
  const silent = new TestMdsClient(mds.server.address, 'silent');
  mds.onClose(() => silent.close());
  const b = client('b2');
  const ino = await newFile(b.mds, 'g');
  await silent.call('lockEnqueue', { ino, kind: 'data', mode: 'PW' });
  const started = Date.now();
  await b.locks.acquire({ ino, kind: 'data', mode: 'PW' });
  assert.ok(Date.now() - started >= 250, 'granted after the callback deadline');
  assert.ok(
    silent.pushes.some((p) => p.method === 'blockingAst'),
    'the holder was called back',
  );
  await waitFor('the MDS tells the holder it was evicted', async () =>
    silent.pushes.some((p) => p.method === 'evicted'),
  );
  await assert.rejects(silent.call('getattr', { ino }), (e: { code?: string; message?: string }) => {
    assert.equal(e.code, 'EIO');
    assert.match(String(e.message), /evicted/);
    return true;
  });
  await silent.call('connect', { clientId: 'silent', host: 'node-a' });
  assert.equal((await silent.call('getattr', { ino })).ino, ino, 'a reconnected client is served again');
});

test('a lock called back before its grant reached the holder is used, then given back, not left to eviction', async () => {
  const [a, b, c] = [client('early-a'), client('early-b'), client('early-c')];
  const ino = await newFile(a.mds, 'early');
  const release = Promise.withResolvers<void>();
  const revoking = Promise.withResolvers<void>();
  a.locks.onRevoke(async () => {
    revoking.resolve();
    await release.promise;
  });
  await a.locks.acquire({ ino, kind: 'data', mode: 'PW' });
  const forB = b.locks.acquire({ ino, kind: 'data', mode: 'PW' });
  await revoking.promise;
  const forC = c.locks.acquire({ ino, kind: 'data', mode: 'PW' });
  await c.mds.call('getattr', { ino: 1 }); // same connection: C's request is queued at the MDS by now
  // A cancels: the MDS grants B and, C waiting, calls B's lock back at once — before B has its grant.
  release.resolve();
  const [lb, lc] = await Promise.all([forB, forC]);
  assert.equal(lb.ino, ino);
  assert.equal(lc.ino, ino);
  assert.deepEqual(b.locks.held(ino), [], 'B gave its lock back once it had it');
  assert.equal((await b.mds.call('getattr', { ino: 1 })).ino, 1, 'B was not evicted');
});

test('an evicted client drops what it cached under every lock and reconnects by itself', async () => {
  const [a, b] = [client('evict-a'), client('evict-b')];
  const [ino, other] = [await newFile(a.mds, 'h'), await newFile(a.mds, 'h2')];
  const stuck = Promise.withResolvers<void>();
  const dropped: number[] = [];
  a.locks.onRevoke(async (lock) => {
    dropped.push(lock.ino);
    if (lock.ino === ino) await stuck.promise; // never answers in time
  });
  await a.locks.acquire({ ino, kind: 'data', mode: 'PR' });
  await a.locks.acquire({ ino: other, kind: 'data', mode: 'PR' });
  await b.locks.acquire({ ino, kind: 'data', mode: 'PW' });
  await waitFor('A drops its other lock with its cache', async () => dropped.includes(other));
  stuck.resolve(); // its late cancel is refused or finds the lock gone: either way, nothing waits on it
  await waitFor('A is served again', () =>
    a.mds.call('getattr', { ino: 1 }).then(
      () => true,
      () => false,
    ),
  );
  assert.deepEqual(a.locks.held(other), []);
});
