// The lock manager: compatible locks, blocking callbacks and cancels, arrival order, eviction of a holder that does not answer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IBITS, type Lock, LockManager } from './ldlm.ts';

function manager(callbackTimeoutMs = 10_000) {
  const blocking: Lock[] = [];
  const evicted: { client: string; reason: string }[] = [];
  const waiters: (() => void)[] = [];
  const m = new LockManager({
    callbackTimeoutMs,
    sendBlocking: (lock) => {
      blocking.push(lock);
      for (const w of waiters.splice(0)) w();
    },
    onEvict: (client, reason) => evicted.push({ client, reason }),
  });
  /** Resolves once `n` blocking callbacks have been sent in all. */
  const callbacks = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => (blocking.length >= n ? resolve() : waiters.push(check));
      check();
    });
  return { m, blocking, evicted, callbacks };
}

const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
};

test('PR locks are shared; a PW request calls back every holder and is granted once both cancel', async () => {
  const { m, blocking } = manager();
  const a = await m.enqueue('a', { ino: 7, kind: 'data', mode: 'PR' });
  const b = await m.enqueue('b', { ino: 7, kind: 'data', mode: 'PR' });
  const w = m.enqueue('c', { ino: 7, kind: 'data', mode: 'PW' });
  assert.equal(await settled(w), false);
  assert.deepEqual(blocking.map((l) => l.client).sort(), ['a', 'b']);
  assert.equal(m.cancel('a', a.id), true);
  assert.equal(await settled(w), false, 'b still holds its PR lock');
  assert.equal(m.cancel('b', b.id), true);
  assert.equal((await w).client, 'c');
  assert.equal(m.cancel('a', a.id), false, 'a lock cancels once');
  m.close();
});

test('inode bits conflict only where they overlap; a client never conflicts with itself', async () => {
  const { m, blocking } = manager();
  await m.enqueue('a', { ino: 1, kind: 'ibits', mode: 'PR', bits: IBITS.LOOKUP });
  await m.enqueue('b', { ino: 1, kind: 'ibits', mode: 'PW', bits: IBITS.UPDATE });
  await m.enqueue('a', { ino: 1, kind: 'ibits', mode: 'PW', bits: IBITS.LOOKUP });
  await m.enqueue('a', { ino: 1, kind: 'data', mode: 'PW' });
  assert.equal(blocking.length, 0);
  const w = m.enqueue('b', { ino: 1, kind: 'ibits', mode: 'PR', bits: IBITS.LOOKUP | IBITS.LAYOUT });
  assert.equal(await settled(w), false);
  assert.deepEqual(
    blocking.map((l) => [l.client, l.bits]),
    [['a', IBITS.LOOKUP]],
    'the PR LOOKUP lock of a is compatible, its PW LOOKUP lock is not',
  );
  m.dropClient('a');
  assert.equal((await w).client, 'b');
  await assert.rejects(m.enqueue('a', { ino: 1, kind: 'ibits', mode: 'PR', bits: 0 }), { code: 'EINVAL' });
  m.close();
});

test('waiters are granted in arrival order; an aborted request is EINTR and leaves the queue', async () => {
  const { m, callbacks } = manager();
  const a = await m.enqueue('a', { ino: 3, kind: 'data', mode: 'PW' });
  const ac = new AbortController();
  const gone = m.enqueue('x', { ino: 3, kind: 'data', mode: 'PW' }, ac.signal);
  const b = m.enqueue('b', { ino: 3, kind: 'data', mode: 'PR' });
  const c = m.enqueue('c', { ino: 3, kind: 'data', mode: 'PW' });
  await callbacks(1);
  ac.abort();
  await assert.rejects(gone, { code: 'EINTR' });
  m.cancel('a', a.id);
  const bl = await b;
  assert.equal(await settled(c), false, 'c waits behind b');
  await callbacks(2);
  m.cancel('b', bl.id);
  assert.equal((await c).client, 'c');
  m.close();
});

test('a holder that does not cancel within the deadline is evicted: its locks go, the waiter is granted', async () => {
  const { m, evicted } = manager(50);
  const a = await m.enqueue('a', { ino: 9, kind: 'data', mode: 'PW' });
  await m.enqueue('a', { ino: 10, kind: 'data', mode: 'PR' });
  const started = Date.now();
  const b = await m.enqueue('b', { ino: 9, kind: 'data', mode: 'PW' });
  assert.ok(Date.now() - started >= 45, 'granted only after the deadline');
  assert.equal(b.client, 'b');
  assert.equal(evicted.length, 1);
  assert.equal(evicted[0]!.client, 'a');
  assert.match(evicted[0]!.reason, /did not cancel lock \d+ on inode 9 within 50 ms/);
  assert.deepEqual(m.locksOf('a'), [], 'every lock of the evicted client is dropped');
  assert.equal(m.cancel('a', a.id), false);
  m.close();
});
