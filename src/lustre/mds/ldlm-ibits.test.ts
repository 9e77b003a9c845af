// Inode-bits locks of metadata caching: which bits conflict, grants handed out with a reply only when free, and the PW locks a change takes (mds/meta-revoke.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IBITS, type Lock, LockManager } from './ldlm.ts';
import { withRevocation } from './meta-revoke.ts';

function manager() {
  const blocking: Lock[] = [];
  const m = new LockManager({
    callbackTimeoutMs: 60_000,
    sendBlocking: (lock) => void blocking.push(lock),
    onEvict: () => undefined,
  });
  return { m, blocking };
}

const ibits = (ino: number, mode: 'PR' | 'PW', bits: number) => ({ ino, kind: 'ibits' as const, mode, bits });
const tick = () => new Promise((r) => setImmediate(r));

test('a change in a directory (PW LOOKUP|UPDATE) calls back other clients’ LOOKUP and UPDATE locks on it, not their locks on other bits or inodes, nor the changer’s own', async () => {
  const { m, blocking } = manager();
  const names = await m.enqueue('a', ibits(10, 'PR', IBITS.LOOKUP));
  const attrs = await m.enqueue('b', ibits(10, 'PR', IBITS.UPDATE));
  const layout = await m.enqueue('b', ibits(10, 'PR', IBITS.LAYOUT));
  const elsewhere = await m.enqueue('a', ibits(11, 'PR', IBITS.LOOKUP));
  const own = await m.enqueue('c', ibits(10, 'PR', IBITS.LOOKUP | IBITS.UPDATE));
  let changed = false;
  const change = withRevocation(
    m,
    'c',
    [{ ino: 10, bits: IBITS.LOOKUP | IBITS.UPDATE }],
    AbortSignal.timeout(5_000),
    async () => {
      changed = true;
    },
  );
  await tick();
  assert.deepEqual(
    blocking.map((l) => l.id).sort(),
    [names.id, attrs.id].sort(),
    'only the conflicting locks of other clients are called back',
  );
  assert.equal(changed, false, 'the change waits for the cancels');
  m.cancel('a', names.id);
  await tick();
  assert.equal(changed, false);
  m.cancel('b', attrs.id);
  await change;
  assert.equal(changed, true);
  assert.deepEqual(
    m.locksOf('c').map((l) => l.id),
    [own.id],
    'the change’s PW lock is gone once it is done; the changer keeps its own PR lock',
  );
  assert.ok(m.locksOf('b').some((l) => l.id === layout.id));
  assert.ok(m.locksOf('a').some((l) => l.id === elsewhere.id));
});

test('no PR lock is granted while a change holds PW; a lock handed out with a reply is only granted when free', async () => {
  const { m } = manager();
  const held = await m.enqueue('a', ibits(5, 'PR', IBITS.UPDATE));
  const gate = Promise.withResolvers<void>();
  const change = withRevocation(
    m,
    'w',
    [{ ino: 5, bits: IBITS.UPDATE }],
    AbortSignal.timeout(5_000),
    () => gate.promise,
  );
  await tick();
  assert.equal(
    m.tryEnqueue('b', ibits(5, 'PR', IBITS.UPDATE)),
    undefined,
    'someone is queued: not granted at once',
  );
  m.cancel('a', held.id);
  await tick();
  assert.equal(m.tryEnqueue('b', ibits(5, 'PR', IBITS.UPDATE)), undefined, 'the change holds PW');
  let granted = false;
  const later = m.enqueue('b', ibits(5, 'PR', IBITS.UPDATE)).then((l) => {
    granted = true;
    return l;
  });
  await tick();
  assert.equal(granted, false, 'a PR request waits for the change to finish');
  gate.resolve();
  await change;
  await later;
  assert.equal(granted, true);
  const free = m.tryEnqueue('c', ibits(5, 'PR', IBITS.UPDATE));
  assert.ok(free, 'PR locks share: granted at once');
  assert.equal(m.tryEnqueue('c', ibits(5, 'PR', 0)), undefined, 'no bits: refused');
});

test('two changes of different clients on the same inodes take their PW locks in inode order and both finish', async () => {
  const { m } = manager();
  const order: string[] = [];
  const s = AbortSignal.timeout(5_000);
  const first = withRevocation(
    m,
    'x',
    [
      { ino: 9, bits: 3 },
      { ino: 4, bits: 3 },
    ],
    s,
    async () => {
      order.push('x');
      await tick();
    },
  );
  const second = withRevocation(
    m,
    'y',
    [
      { ino: 4, bits: 3 },
      { ino: 9, bits: 3 },
    ],
    s,
    async () => {
      order.push('y');
    },
  );
  await Promise.all([first, second]);
  assert.deepEqual(order, ['x', 'y']);
  assert.deepEqual(m.locksOf('x'), []);
  assert.deepEqual(m.locksOf('y'), []);
});
