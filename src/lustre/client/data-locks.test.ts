// DataLocks at its seam (a lock cache that grants at once and revokes on demand): what a revocation waits for, and what runs under which lock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataLocks } from './data-locks.ts';
import type { CacheLock, LockCache, LockWant } from './lock-cache.ts';

/** Grants every request a new lock; `revoke` runs the listeners as a blocking callback would, then counts a cancel. */
function fakeLocks() {
  const listeners: ((l: CacheLock) => Promise<void>)[] = [];
  const held = new Map<number, CacheLock>();
  const acquired: LockWant[] = [];
  let next = 1;
  const cache = {
    onRevoke: (l: (lock: CacheLock) => Promise<void>) => void listeners.push(l),
    acquire: async (want: LockWant) => {
      acquired.push(want);
      for (const l of held.values())
        if (l.ino === want.ino && (l.mode === 'PW' || want.mode === 'PR')) return l;
      const lock: CacheLock = { id: next++, ino: want.ino, kind: 'data', mode: want.mode, bits: 0 };
      held.set(lock.id, lock);
      return lock;
    },
  };
  return {
    locks: cache as unknown as LockCache,
    acquired,
    async revoke(ino: number): Promise<void> {
      for (const lock of [...held.values()].filter((l) => l.ino === ino)) {
        held.delete(lock.id);
        for (const l of listeners) await l(lock);
      }
    },
  };
}

test('a revocation drops the pages, waits for the I/O under the lock, and again while I/O keeps arriving', async () => {
  const f = fakeLocks();
  const events: string[] = [];
  const dl = new DataLocks(f.locks, async (ino) => void events.push(`drop ${ino}`));
  const slow = Promise.withResolvers<void>();
  const read = dl.under(7, 'PR', async () => {
    await slow.promise;
    events.push('read done');
  });
  await Promise.resolve();
  const revoked = f.revoke(7).then(() => events.push('cancel'));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(events, ['drop 7'], 'pages dropped first; the cancel waits for the read');
  // A write arriving during the revocation runs under the revoked lock (no new lock asked for).
  const before = f.acquired.length;
  await dl.under(7, 'PW', async () => void events.push('write under revoked lock'));
  assert.equal(f.acquired.length, before, 'no lock requested during the revocation');
  slow.resolve();
  await read;
  await revoked;
  assert.deepEqual(events, ['drop 7', 'write under revoked lock', 'read done', 'drop 7', 'cancel']);
  // After the cancel, I/O takes a new lock.
  await dl.under(7, 'PR', async () => undefined);
  assert.equal(f.acquired.length, before + 1);
});

test('data locks of other inodes are not touched by a revocation', async () => {
  const f = fakeLocks();
  const dropped: number[] = [];
  const dl = new DataLocks(f.locks, async (ino) => void dropped.push(ino));
  await dl.under(1, 'PW', async () => undefined);
  await dl.under(2, 'PR', async () => undefined);
  await f.revoke(1);
  assert.deepEqual(dropped, [1]);
});
