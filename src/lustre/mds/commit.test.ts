// GroupCommit: one transaction per batch, a failed mutation undoes only itself, a batch SQLite rolled back fails whole.
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { GroupCommit } from './commit.ts';

function table(): DatabaseSync {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE t (v INTEGER)');
  return db;
}

const values = (db: DatabaseSync) =>
  (db.prepare('SELECT v FROM t ORDER BY v').all() as { v: number }[]).map((r) => r.v);

test('mutations of one turn commit together; a throwing one undoes only its own changes', async () => {
  const db = table();
  const gc = new GroupCommit(db);
  const insert = (v: number) => () => db.prepare('INSERT INTO t VALUES (?)').run(v);
  const a = gc.apply(insert(1));
  const b = gc.apply(() => {
    insert(2)();
    throw new Error('refused');
  });
  const c = gc.apply(insert(3));
  await a;
  await assert.rejects(b, /refused/);
  await c;
  assert.deepEqual(values(db), [1, 3]);
  assert.equal(gc.stats.commits, 1);
});

test('a batch SQLite rolls back by itself fails every mutation in it with EIO, and the next batch works', async () => {
  const db = table();
  const gc = new GroupCommit(db);
  const first = gc.apply(() => db.prepare('INSERT INTO t VALUES (1)').run());
  // What SQLite does after SQLITE_FULL or SQLITE_IOERR: the whole transaction is gone.
  const lost = gc.apply(() => {
    db.exec('ROLLBACK');
    throw new Error('database or disk is full');
  });
  await assert.rejects(
    first,
    (e: NodeJS.ErrnoException) => e.code === 'EIO' && /disk is full/.test(e.message),
  );
  await assert.rejects(
    lost,
    (e: NodeJS.ErrnoException) => e.code === 'EIO' && /disk is full/.test(e.message),
  );
  await gc.apply(() => db.prepare('INSERT INTO t VALUES (2)').run());
  assert.deepEqual(values(db), [2]);
  assert.equal(db.isTransaction, false);
});

test('a mutation that ends the transaction without throwing is refused, not committed outside a transaction', async () => {
  const db = table();
  const gc = new GroupCommit(db);
  const sneaky = gc.apply(() => {
    db.prepare('INSERT INTO t VALUES (1)').run();
    db.exec('ROLLBACK');
  });
  await assert.rejects(sneaky, (e: NodeJS.ErrnoException) => e.code === 'EIO');
  assert.deepEqual(values(db), []);
});
