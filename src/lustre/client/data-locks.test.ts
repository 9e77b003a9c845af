// DataLocks at its seam (a lock cache that grants at once and revokes on demand): what a revocation waits for, and what runs under which lock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FileSystemClient } from '../types.ts';
import { DataLocks, withDataLocks } from './data-locks.ts';
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
  await new Promise((r) => setImmediate(r));
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

test('a direct write arriving during a revocation waits for the cancel and takes a new lock; a truncate under a revoked PW rides it', async () => {
  const f = fakeLocks();
  const events: string[] = [];
  const dl = new DataLocks(f.locks, async () => void events.push('drop'));
  const slow = Promise.withResolvers<void>();
  const read = dl.under(3, 'PW', async () => {
    await slow.promise;
    events.push('read done');
  });
  await new Promise((r) => setImmediate(r));
  const revoked = f.revoke(3).then(() => events.push('cancel'));
  await new Promise((r) => setImmediate(r));
  const before = f.acquired.length;
  const truncate = dl.under(3, 'PW', async () => void events.push('truncate'), undefined, 'writeback');
  const write = dl.under(3, 'PW', async () => void events.push('direct write'), undefined, 'none');
  await truncate;
  assert.equal(f.acquired.length, before, 'the truncate rides the revoked PW lock');
  slow.resolve();
  await Promise.all([read, revoked, write]);
  assert.deepEqual(events, ['drop', 'truncate', 'read done', 'drop', 'cancel', 'direct write']);
  assert.equal(f.acquired.length, before + 1, 'the direct write asked for a new lock after the cancel');
});

test('a truncate needing PW while a PR lock is revoked waits for the cancel instead of riding it', async () => {
  const f = fakeLocks();
  const events: string[] = [];
  const dl = new DataLocks(f.locks, async () => void events.push('drop'));
  await dl.under(4, 'PR', async () => undefined);
  const slow = Promise.withResolvers<void>();
  const read = dl.under(4, 'PR', () => slow.promise);
  await new Promise((r) => setImmediate(r));
  const revoked = f.revoke(4).then(() => events.push('cancel'));
  await new Promise((r) => setImmediate(r));
  const truncate = dl.under(4, 'PW', async () => void events.push('truncate'), undefined, 'writeback');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(events, ['drop']);
  slow.resolve();
  await Promise.all([read, revoked, truncate]);
  assert.deepEqual(events, ['drop', 'cancel', 'truncate']);
  assert.equal(f.acquired.at(-1)?.mode, 'PW');
});

test('a read waiting for its lock runs under a revocation of that inode that starts meanwhile', async () => {
  const f = fakeLocks();
  await new DataLocks(f.locks, async () => undefined).under(5, 'PR', async () => undefined);
  const never = Promise.withResolvers<CacheLock>();
  const held = (await f.locks.acquire({ ino: 5, kind: 'data', mode: 'PR' })) as CacheLock;
  // A lock cache whose next request waits (behind another client's request that revokes ours).
  const waiting = Object.create(f.locks) as LockCache;
  Object.assign(waiting, { acquire: () => never.promise });
  // As the kernel's invalidation, the drop waits for the pages the read holds.
  const served = Promise.withResolvers<void>();
  const dl2 = new DataLocks(waiting, () => served.promise);
  const read = dl2.under(
    5,
    'PW',
    async () => {
      served.resolve();
      return 'read';
    },
    undefined,
    'pages',
  );
  await new Promise((r) => setImmediate(r));
  await f.revoke(5);
  assert.equal(await read, 'read', 'served under the lock being revoked instead of waiting for a new one');
  assert.ok(held.id > 0);
});

test('an uncached mount reads without a lock and writes, truncates and fallocates under PW', async () => {
  const f = fakeLocks();
  const dl = new DataLocks(f.locks, async () => undefined, { cachesPages: false });
  const calls: string[] = [];
  const base = {
    read: async () => {
      calls.push('read');
      return Buffer.alloc(0);
    },
    write: async () => calls.push('write'),
    fallocate: async () => void calls.push('fallocate'),
  } as unknown as FileSystemClient;
  const c = withDataLocks(base, dl);
  const h = { fh: 1, ino: 9, flags: 2 };
  await c.read(h, 0, 1);
  assert.equal(f.acquired.length, 0, 'no lock for a read');
  await c.write(h, 0, Buffer.from('x'));
  await c.fallocate(h, 0, 0, 10);
  assert.deepEqual(
    f.acquired.map((w) => `${w.ino}/${w.mode}`),
    ['9/PW', '9/PW'],
  );
  assert.deepEqual(calls, ['read', 'write', 'fallocate']);
});
