// Unit tests of withMetaLocks' pass-through: the calls it wraps reach the client below with every argument.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FileSystemClient, WriteOptions } from '../types.ts';
import type { CacheLock, LockCache } from './lock-cache.ts';
import type { LustreClient } from './lustre-client.ts';
import { CONTENDED_MS, IBITS, MetaCache } from './meta-cache.ts';
import { MetaLocks, withMetaLocks } from './meta-locks.ts';

const fakeMeta = () => {
  const dropped: number[] = [];
  const meta = { cache: { dropAttr: (ino: number) => dropped.push(ino) } } as unknown as MetaLocks;
  return { meta, dropped };
};

test('a page-cache write-back keeps its options through the metadata cache (the data locks below see fromPageCache)', async () => {
  const seen: (WriteOptions | undefined)[] = [];
  const base = {
    write: async (_h: unknown, _o: number, data: Buffer, _s?: AbortSignal, opts?: WriteOptions) => {
      seen.push(opts);
      return data.length;
    },
  } as unknown as FileSystemClient;
  const { meta, dropped } = fakeMeta();
  const c = withMetaLocks(base, meta);
  const h = { fh: 1, ino: 7, flags: 2 };
  await c.write(h, 0, Buffer.from('x'), undefined, { fromPageCache: true });
  await c.write(h, 1, Buffer.from('y'));
  assert.deepEqual(seen, [{ fromPageCache: true }, undefined]);
  assert.deepEqual(dropped, [7, 7], 'the cached attributes are dropped by every write');
});

test('a call withMetaLocks does not wrap reaches the client below bound to it', async () => {
  const base = {
    marker: 'below',
    async statfs(this: { marker: string }) {
      return this.marker;
    },
  } as unknown as FileSystemClient;
  const c = withMetaLocks(base, fakeMeta().meta);
  assert.equal(await (c.statfs as unknown as () => Promise<string>)(), 'below');
});

test('closing the client stops the metadata cache heartbeat timer', (t) => {
  const closers: (() => void)[] = [];
  const lustre = {
    locks: { onRevoke: () => undefined },
    onClose: (fn: () => void) => closers.push(fn),
  } as unknown as LustreClient;
  const started = t.mock.method(globalThis, 'setInterval');
  const cleared = t.mock.method(globalThis, 'clearInterval');
  new MetaLocks(lustre);
  assert.equal(started.mock.callCount(), 1);
  const heartbeat = started.mock.calls[0]!.result;
  assert.equal(cleared.mock.callCount(), 0);
  for (const fn of closers) fn();
  assert.deepEqual(
    cleared.mock.calls.map((c) => c.arguments[0]),
    [heartbeat],
    'the heartbeat is cleared once the client closed',
  );
});

test('call-back times of directories are pruned once older than the contention window', () => {
  let revoke: (lock: CacheLock) => Promise<void> = async () => undefined;
  const onRevoke = (fn: typeof revoke) => {
    revoke = fn;
  };
  const locks = { onRevoke } as unknown as LockCache;
  let now = 0;
  const cache = new MetaCache(locks, () => now);
  const dirLock = (ino: number) =>
    ({ id: ino, ino, kind: 'ibits', mode: 'PR', bits: IBITS.LOOKUP }) as CacheLock;
  for (let ino = 1; ino <= 10_000; ino++) {
    void revoke(dirLock(ino));
    now += 1;
  }
  assert.ok(cache.contendedDirs <= 256 + CONTENDED_MS, `${cache.contendedDirs} directories remembered`);
  assert.equal(cache.contended(10_000), true, 'a directory called back a moment ago is still contended');
  now += CONTENDED_MS;
  assert.equal(cache.contended(10_000), false);
});
