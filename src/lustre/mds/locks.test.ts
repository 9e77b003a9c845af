// The lock tables: POSIX range locks (conflicts, split, merge, F_GETLK) and flock, and what releasing drops.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FileLock } from '../types.ts';
import { LockTable } from './locks.ts';

const EOF = Number.MAX_SAFE_INTEGER;
const lk = (type: FileLock['type'], start: number, end: number, pid = 1): FileLock => ({
  type,
  start,
  end,
  pid,
});
const probe = (t: LockTable, owner: string, type: 'read' | 'write', start: number, end: number) =>
  t.getlk(1, owner, lk(type, start, end)).type;

test("read locks share, a write lock conflicts with any other owner's lock", () => {
  const t = new LockTable();
  t.setlk(1, 'a', 'c1', lk('read', 0, 99));
  t.setlk(1, 'b', 'c2', lk('read', 50, 150));
  assert.throws(() => t.setlk(1, 'c', 'c3', lk('write', 99, 99)), { code: 'EAGAIN' });
  assert.doesNotThrow(() => t.setlk(1, 'c', 'c3', lk('write', 151, 200)));
  assert.throws(() => t.setlk(1, 'a', 'c1', lk('read', 200, 200)), { code: 'EAGAIN' });
});

test("an owner's own locks never conflict: it upgrades in place", () => {
  const t = new LockTable();
  t.setlk(1, 'a', 'c1', lk('read', 0, EOF));
  t.setlk(1, 'a', 'c1', lk('write', 10, 19));
  assert.equal(probe(t, 'b', 'read', 0, 9), 'unlock');
  assert.equal(probe(t, 'b', 'read', 10, 10), 'write');
  assert.equal(probe(t, 'b', 'write', 20, 20), 'read');
});

test("F_GETLK reports the conflicting lock with its holder's pid, or unlock", () => {
  const t = new LockTable();
  t.setlk(1, 'a', 'c1', lk('write', 100, 199, 4242));
  assert.deepEqual(t.getlk(1, 'b', lk('read', 150, 300, 7)), {
    type: 'write',
    start: 100,
    end: 199,
    pid: 4242,
  });
  assert.deepEqual(t.getlk(1, 'b', lk('read', 200, 300, 7)), {
    type: 'unlock',
    start: 200,
    end: 300,
    pid: 7,
  });
  assert.equal(probe(t, 'a', 'write', 0, EOF), 'unlock', 'own locks do not conflict');
  assert.throws(() => t.getlk(1, 'b', lk('unlock', 0, 1)), { code: 'EINVAL' });
});

test('unlocking the middle of a range splits it; adjacent same-type ranges merge', () => {
  const t = new LockTable();
  t.setlk(1, 'a', 'c1', lk('write', 0, 99));
  t.setlk(1, 'a', 'c1', lk('unlock', 40, 59));
  assert.equal(probe(t, 'b', 'write', 40, 59), 'unlock');
  assert.equal(probe(t, 'b', 'write', 39, 39), 'write');
  assert.equal(probe(t, 'b', 'write', 60, 60), 'write');
  assert.equal(t.count(), 2);
  t.setlk(1, 'a', 'c1', lk('write', 40, 59));
  assert.equal(t.count(), 1, 'the three pieces merged back into one');
  t.setlk(1, 'a', 'c1', lk('write', 100, 120));
  assert.equal(t.count(), 1, 'adjacent range merged');
  assert.deepEqual(t.getlk(1, 'b', lk('read', 0, EOF)), { type: 'write', start: 0, end: 120, pid: 1 });
});

test("unlockOwner drops one owner's locks on one inode only", () => {
  const t = new LockTable();
  t.setlk(1, 'a', 'c1', lk('write', 0, 9));
  t.setlk(2, 'a', 'c1', lk('write', 0, 9));
  t.setlk(1, 'b', 'c1', lk('write', 10, 19));
  t.unlockOwner(1, 'a');
  assert.equal(probe(t, 'z', 'write', 0, 9), 'unlock');
  assert.equal(t.getlk(2, 'z', lk('write', 0, 9)).type, 'write');
  assert.equal(probe(t, 'z', 'write', 10, 19), 'write');
});

test('bad ranges are EINVAL', () => {
  const t = new LockTable();
  assert.throws(() => t.setlk(1, 'a', 'c', lk('read', 10, 9)), { code: 'EINVAL' });
  assert.throws(() => t.setlk(1, 'a', 'c', lk('read', -1, 9)), { code: 'EINVAL' });
});

test('flock: shared with shared, exclusive alone, upgrade and downgrade per handle', () => {
  const t = new LockTable();
  t.flock(1, 10, 'c1', 'read');
  t.flock(1, 11, 'c2', 'read');
  assert.throws(() => t.flock(1, 10, 'c1', 'write'), { code: 'EAGAIN' }, 'another reader holds it');
  t.flock(1, 11, 'c2', 'unlock');
  t.flock(1, 10, 'c1', 'write');
  assert.throws(() => t.flock(1, 11, 'c2', 'read'), { code: 'EAGAIN' });
  t.flock(1, 10, 'c1', 'read');
  assert.doesNotThrow(() => t.flock(1, 11, 'c2', 'read'));
});

test('a released handle loses its flock, and the client its POSIX locks once it has no handle left', () => {
  const t = new LockTable();
  t.flock(1, 10, 'c1', 'write');
  t.setlk(1, 'c1:owner', 'c1', lk('write', 0, 9));
  t.handleReleased(1, 10, 'c1', true);
  assert.doesNotThrow(() => t.flock(1, 11, 'c2', 'write'));
  assert.equal(probe(t, 'c2:x', 'write', 0, 9), 'write', 'another handle of c1 is still open');
  t.handleReleased(1, 12, 'c1', false);
  assert.equal(probe(t, 'c2:x', 'write', 0, 9), 'unlock');
});

test('dropClient removes every lock of that client and no other', () => {
  const t = new LockTable();
  t.setlk(1, 'c1:a', 'c1', lk('write', 0, 9));
  t.setlk(2, 'c1:a', 'c1', lk('read', 0, 9));
  t.flock(3, 5, 'c1', 'write');
  t.setlk(1, 'c2:a', 'c2', lk('write', 10, 19));
  t.dropClient('c1');
  assert.equal(t.count(), 1);
});
