// writeFileDurably: the new content replaces the old whole, no temp file is left, an abort changes nothing.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { writeFileDurably } from './durable-file.ts';

const dir = await mkdtemp(path.join(tmpdir(), 'nacre-durable-'));
after(() => rm(dir, { recursive: true, force: true }));

test('a file is created, then replaced, and only the file is left in its directory', async () => {
  const f = path.join(dir, 'state.json');
  await writeFileDurably(f, '{"v":1}');
  await writeFileDurably(f, Buffer.from('{"v":2}'));
  assert.equal(await readFile(f, 'utf8'), '{"v":2}');
  assert.deepEqual(await readdir(dir), ['state.json']);
  await rm(f);
});

test('concurrent writes of one file never collide: one of them wins whole', async () => {
  const f = path.join(dir, 'busy');
  const contents = Array.from({ length: 20 }, (_, i) => `content ${i} `.repeat(1000));
  await Promise.all(contents.map((c) => writeFileDurably(f, c)));
  assert.ok(contents.includes(await readFile(f, 'utf8')));
  assert.deepEqual(await readdir(dir), ['busy']);
  await rm(f);
});

test('an aborted write leaves the old content and no temp file', async () => {
  const f = path.join(dir, 'kept');
  await writeFile(f, 'old');
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(writeFileDurably(f, 'new', { signal: ac.signal }), { name: 'AbortError' });
  assert.equal(await readFile(f, 'utf8'), 'old');
  assert.deepEqual(await readdir(dir), ['kept']);
});
