// PageJournal on a real file: what a daemon records survives it, the next daemon gets it back, and forgetting keeps only what is still cached.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { logger } from '../../lib/log.ts';
import { PageJournal } from './page-journal.ts';

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
