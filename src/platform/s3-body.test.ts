// Unit tests of readBody: the bytes of a body however it is chunked, whether it is shorter or longer than announced.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import test from 'node:test';
import { readBody } from './s3-body.ts';

async function* chunked(data: Buffer, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield new Uint8Array(data.subarray(i, i + size));
}

test('a body is read whole into a buffer of its length', async () => {
  const data = randomBytes(1_000_003);
  const out = await readBody(chunked(data, 65_536), data.length);
  assert.equal(out.length, data.length);
  assert.ok(out.equals(data));
});

test('a body shorter or longer than announced comes back as it is, for the caller to judge', async () => {
  const data = randomBytes(300_000);
  assert.ok((await readBody(chunked(data, 4096), 500_000)).equals(data));
  assert.ok((await readBody(chunked(data, 70_000), 100_000)).equals(data));
  assert.equal((await readBody(chunked(Buffer.alloc(0), 1), 10)).length, 0);
});
