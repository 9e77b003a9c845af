// Inode-bits locks of metadata caching: which bits conflict, grants handed out with a reply only when free, and the PW locks a change takes (mds/meta-revoke.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IBITS, type Lock, LockManager } from './ldlm.ts';
import type { Mdt } from './mdt.ts';
import { touchedBy, withRevocation } from './meta-revoke.ts';

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

test('a change in a directory (PW LOOKUP|UPDATE) returns only once other clients’ LOOKUP and UPDATE locks on it are cancelled; locks on other bits or inodes, and the changer’s own, stay', async () => {
  const { m, blocking } = manager();
  const names = await m.enqueue('a', ibits(10, 'PR', IBITS.LOOKUP));
  const attrs = await m.enqueue('b', ibits(10, 'PR', IBITS.UPDATE));
  const layout = await m.enqueue('b', ibits(10, 'PR', IBITS.LAYOUT));
  const elsewhere = await m.enqueue('a', ibits(11, 'PR', IBITS.LOOKUP));
  const own = await m.enqueue('c', ibits(10, 'PR', IBITS.LOOKUP | IBITS.UPDATE));
  let changed = false;
  let returned = false;
  const change = withRevocation(m, 'c', [{ ino: 10, bits: IBITS.LOOKUP | IBITS.UPDATE }], async () => {
    changed = true;
  }).then(() => {
    returned = true;
  });
  await tick();
  assert.equal(changed, true, 'the change runs without waiting');
  assert.deepEqual(
    blocking.map((l) => l.id).sort(),
    [names.id, attrs.id].sort(),
    'then only the conflicting locks of other clients are called back',
  );
  assert.equal(returned, false, 'the change returns only after the cancels');
  m.cancel('a', names.id);
  await tick();
  assert.equal(returned, false);
  m.cancel('b', attrs.id);
  await change;
  assert.deepEqual(
    m.locksOf('c').map((l) => l.id),
    [own.id],
    'no PW lock is left behind; the changer keeps its own PR lock',
  );
  assert.ok(m.locksOf('b').some((l) => l.id === layout.id));
  assert.ok(m.locksOf('a').some((l) => l.id === elsewhere.id));
});

test('a PR lock granted while a change runs is called back before it returns; a lock handed out with a reply is only granted when free', async () => {
  const { m, blocking } = manager();
  const gate = Promise.withResolvers<void>();
  let returned = false;
  const change = withRevocation(m, 'w', [{ ino: 5, bits: IBITS.UPDATE }], () => gate.promise).then(() => {
    returned = true;
  });
  const during = m.tryEnqueue('b', ibits(5, 'PR', IBITS.UPDATE));
  assert.ok(during, 'nothing is held while the change runs');
  gate.resolve();
  await tick();
  assert.deepEqual(
    blocking.map((l) => l.id),
    [during.id],
  );
  assert.equal(
    m.tryEnqueue('c', ibits(5, 'PR', IBITS.UPDATE)),
    undefined,
    'a revocation is queued: not granted at once',
  );
  assert.equal(returned, false);
  m.cancel('b', during.id);
  await change;
  assert.ok(m.tryEnqueue('c', ibits(5, 'PR', IBITS.UPDATE)), 'free again: granted at once');
  assert.ok(m.tryEnqueue('d', ibits(5, 'PR', IBITS.UPDATE)), 'PR locks share');
  assert.equal(m.tryEnqueue('c', ibits(5, 'PR', 0)), undefined, 'no bits: refused');
});

test('a change that fails revokes nothing; two changes of different clients on the same inodes both finish', async () => {
  const { m, blocking } = manager();
  await m.enqueue('a', ibits(4, 'PR', IBITS.LOOKUP));
  await assert.rejects(
    withRevocation(m, 'x', [{ ino: 4, bits: 3 }], async () => {
      throw new Error('EEXIST');
    }),
  );
  assert.equal(blocking.length, 0);
  const order: string[] = [];
  const first = withRevocation(
    m,
    'x',
    [
      { ino: 9, bits: 3 },
      { ino: 5, bits: 3 },
    ],
    async () => {
      order.push('x');
    },
  );
  const second = withRevocation(
    m,
    'y',
    [
      { ino: 5, bits: 3 },
      { ino: 9, bits: 3 },
    ],
    async () => {
      order.push('y');
    },
  );
  await Promise.all([first, second]);
  assert.deepEqual(order.sort(), ['x', 'y']);
  assert.deepEqual(m.locksOf('x'), []);
  assert.deepEqual(m.locksOf('y'), []);
});

test('an HSM replace (auto-import), release and restore end revoke the UPDATE locks on the file: their size and mtime change', () => {
  const noTree = {} as Mdt;
  for (const method of ['hsmReplace', 'hsmRelease', 'hsmRestoreDone'])
    assert.deepEqual(
      touchedBy(method, { ino: 42, xid: 1 }, noTree),
      [{ ino: 42, bits: IBITS.UPDATE }],
      method,
    );
  assert.deepEqual(touchedBy('hsmState', { ino: 42 }, noTree), [], 'a read revokes nothing');
});
