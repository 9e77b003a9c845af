// Unit tests of withMetaLocks' pass-through: the calls it wraps reach the client below with every argument.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FileSystemClient, WriteOptions } from '../types.ts';
import type { MetaLocks } from './meta-locks.ts';
import { withMetaLocks } from './meta-locks.ts';

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
