import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import { test } from 'node:test';
import { HandleCache, RwLock } from './handle-cache.ts';

function fakeOpener(log: { opened: string[]; closed: string[] }, name: string) {
  return async () => {
    log.opened.push(name);
    const handle = {
      close: async () => {
        log.closed.push(name);
      },
    } as unknown as FileHandle;
    return { handle, size: 0, allocated: 0 };
  };
}

test('the cache keeps at most maxOpen idle files, closing the least recently used', async () => {
  const log = { opened: [] as string[], closed: [] as string[] };
  const cache = new HandleCache(2);
  for (const k of ['a', 'b', 'a', 'c']) cache.release((await cache.acquire(k, fakeOpener(log, k)))!);
  assert.deepEqual(log.opened, ['a', 'b', 'c']);
  assert.deepEqual(log.closed, ['b']);
  assert.equal(cache.size, 2);
});

test('a file in use is never closed by eviction, and concurrent acquires share one open', async () => {
  const log = { opened: [] as string[], closed: [] as string[] };
  const cache = new HandleCache(1);
  const [a1, a2] = await Promise.all([
    cache.acquire('a', fakeOpener(log, 'a')),
    cache.acquire('a', fakeOpener(log, 'a')),
  ]);
  assert.equal(a1, a2);
  assert.equal(a1!.refs, 2);
  const b = (await cache.acquire('b', fakeOpener(log, 'b')))!;
  cache.release(b);
  assert.deepEqual(log.closed, ['b'], 'the idle one goes, the busy one stays');
  cache.release(a1!);
  cache.release(a2!);
  assert.deepEqual(log.closed, ['b']);
  assert.equal(cache.size, 1);
});

test('a missing object is not cached and a removed one closes when released', async () => {
  const cache = new HandleCache(4);
  assert.equal(await cache.acquire('x', async () => undefined), undefined);
  assert.equal(cache.size, 0);
  const log = { opened: [] as string[], closed: [] as string[] };
  const e = (await cache.acquire('y', fakeOpener(log, 'y')))!;
  cache.remove(e);
  assert.equal(cache.size, 0);
  assert.deepEqual(log.closed, []);
  cache.release(e);
  await Promise.resolve();
  assert.deepEqual(log.closed, ['y']);
});

test('an exclusive lock waits for readers and blocks later readers', async () => {
  const lock = new RwLock();
  const order: string[] = [];
  await lock.lock(false);
  const w = lock.lock(true).then(() => order.push('writer'));
  const r = lock.lock(false).then(() => order.push('late reader'));
  await Promise.resolve();
  assert.deepEqual(order, []);
  lock.unlock(false);
  await w;
  assert.deepEqual(order, ['writer']);
  lock.unlock(true);
  await r;
  assert.deepEqual(order, ['writer', 'late reader']);
});
