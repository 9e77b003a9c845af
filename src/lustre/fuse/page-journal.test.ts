// PageJournal on a real file: what a daemon records survives it, the next daemon gets it back, and forgetting keeps only what is still cached.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { logger } from '../../lib/log.ts';
import { dropAll, PageJournal } from './page-journal.ts';

const log = logger('test');

test('inodes recorded by one daemon come back to the daemon that adopts the mount, until it forgets them', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'page-journal-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'keeper.json.pages');
  const first = await PageJournal.open(path, false, log);
  assert.deepEqual(first.previous, []);
  await first.journal.record(7);
  await first.journal.record(9);
  await first.journal.record(7);
  assert.equal(await readFile(path, 'utf8'), '7\n9\n', 'each inode once');

  const second = await PageJournal.open(path, true, log);
  assert.deepEqual(second.previous.sort(), [7, 9]);
  await second.journal.record(9); // read again by the new daemon before the drops finished
  await second.journal.record(11);
  await second.journal.forget(second.previous);
  assert.deepEqual((await readFile(path, 'utf8')).split('\n').filter(Boolean).sort(), ['11', '9']);

  const fresh = await PageJournal.open(path, false, log);
  assert.deepEqual(fresh.previous, []);
  assert.equal(await readFile(path, 'utf8'), '', 'a new mount starts with an empty journal');
});

test('an adopting daemon with no journal (the previous one cached nothing) gets nothing to drop', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'page-journal-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { previous } = await PageJournal.open(join(dir, 'none'), true, log);
  assert.deepEqual(previous, []);
});

test('inodes the kernel forgot leave the journal: it is rewritten once mostly dead, and an adopter drops only live ones', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'page-journal-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'keeper.json.pages');
  const { journal } = await PageJournal.open(path, false, log);
  const lines = async () => (await readFile(path, 'utf8')).split('\n').filter(Boolean);
  // A scan: each file read once, then evicted by the kernel.
  for (let ino = 100; ino < 5100; ino++) {
    await journal.record(ino);
    if (ino !== 4242) await journal.forgotten(ino);
  }
  assert.equal(journal.size.live, 1);
  assert.ok((await lines()).length < 4200, `the file was compacted (${(await lines()).length} lines)`);
  await journal.record(4243); // read again after the kernel forgot it: recorded again
  assert.ok((await lines()).includes('4243'));
  const next = await PageJournal.open(path, true, log);
  assert.ok(next.previous.includes(4242) && next.previous.includes(4243));
  assert.ok(next.previous.length < 4200);
});

test('dropAll drops at most `concurrency` at a time and gives up at its deadline', async () => {
  let running = 0;
  let most = 0;
  const done: number[] = [];
  await dropAll(
    Array.from({ length: 50 }, (_, i) => i + 1),
    async (ino) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setImmediate(r));
      running--;
      done.push(ino);
    },
    4,
    AbortSignal.timeout(10_000),
  );
  assert.equal(done.length, 50);
  assert.equal(most, 4);
  const stuck = new Promise<void>(() => undefined);
  await assert.rejects(
    dropAll([1, 2, 3], () => stuck, 2, AbortSignal.timeout(50)),
    {
      code: 'DeadlineExceeded',
      message: /did not drop the pages of the 3 inodes/,
    },
  );
});
