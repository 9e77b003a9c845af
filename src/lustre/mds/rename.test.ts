// rename(2) on the namespace: replacing, moving directories, NOREPLACE and EXCHANGE, link counts and permissions.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { ALICE, BOB, ROOT, TestNamespace } from '../../../test/lustre/mds-fixtures.ts';
import { RENAME_EXCHANGE, RENAME_NOREPLACE, ROOT_INO, S_IFDIR, S_IFREG } from '../types.ts';

let t: TestNamespace;
beforeEach(() => {
  t = new TestNamespace();
  t.run(ROOT, (op) => t.ns.setattr(op, ROOT_INO, { mode: 0o777 }));
});
afterEach(() => t.close());

const mv = (p: number, n: string, np: number, nn: string, flags = 0, cred = ROOT) =>
  t.errno(cred, (op) => t.ns.rename(op, p, n, np, nn, flags));

test('a file moves to another directory under a new name, keeping its inode', () => {
  const f = t.file(ROOT_INO, 'f');
  const d = t.mkdir(ROOT_INO, 'd');
  assert.equal(mv(ROOT_INO, 'f', d, 'g'), 'OK');
  assert.equal(t.ns.lookup(ROOT, d, 'g').ino, f);
  assert.deepEqual(t.names(ROOT_INO), ['d']);
  assert.equal(t.ns.getattr(f).nlink, 1);
});

test('a file replaces a file atomically; the replaced inode is destroyed', () => {
  const a = t.file(ROOT_INO, 'a');
  const b = t.file(ROOT_INO, 'b');
  assert.equal(mv(ROOT_INO, 'a', ROOT_INO, 'b'), 'OK');
  assert.equal(t.ns.lookup(ROOT, ROOT_INO, 'b').ino, a);
  assert.equal(
    t.errno(ROOT, () => t.ns.getattr(b)),
    'ENOENT',
  );
  assert.equal(t.store.pendingCount(), 1);
});

test('a replaced file that is still open becomes an orphan, not destroyed', () => {
  t.file(ROOT_INO, 'a');
  const b = t.open(ROOT_INO, 'b');
  assert.equal(mv(ROOT_INO, 'a', ROOT_INO, 'b'), 'OK');
  assert.equal(t.ns.getattr(b.ino).nlink, 0);
  assert.deepEqual(t.store.orphans(), [b.ino]);
  assert.equal(t.store.pendingCount(), 0);
});

test('a directory replaces an empty directory and link counts follow', () => {
  const src = t.mkdir(ROOT_INO, 'src');
  const other = t.mkdir(ROOT_INO, 'other');
  t.mkdir(other, 'empty');
  assert.equal(t.ns.getattr(other).nlink, 3);
  assert.equal(mv(ROOT_INO, 'src', other, 'empty'), 'OK');
  assert.equal(t.ns.lookup(ROOT, other, 'empty').ino, src);
  assert.equal(t.ns.getattr(other).nlink, 3, 'lost one subdirectory, gained one');
  assert.equal(t.ns.getattr(ROOT_INO).nlink, 3, 'root lost src');
  assert.equal(t.ns.lookup(ROOT, src, '..').ino, other);
});

test('type mismatches: directory over file ENOTDIR, file over directory EISDIR, over non-empty ENOTEMPTY', () => {
  t.mkdir(ROOT_INO, 'd');
  const full = t.mkdir(ROOT_INO, 'full');
  t.file(full, 'x');
  t.file(ROOT_INO, 'f');
  t.mkdir(ROOT_INO, 'd2');
  assert.equal(mv(ROOT_INO, 'd', ROOT_INO, 'f'), 'ENOTDIR');
  assert.equal(mv(ROOT_INO, 'f', ROOT_INO, 'd'), 'EISDIR');
  assert.equal(mv(ROOT_INO, 'd2', ROOT_INO, 'full'), 'ENOTEMPTY');
  assert.deepEqual(t.names(ROOT_INO), ['d', 'full', 'f', 'd2']);
});

test('moving a directory into itself or its subtree is EINVAL', () => {
  const a = t.mkdir(ROOT_INO, 'a');
  const b = t.mkdir(a, 'b');
  const c = t.mkdir(b, 'c');
  assert.equal(mv(ROOT_INO, 'a', a, 'x'), 'EINVAL');
  assert.equal(mv(ROOT_INO, 'a', c, 'x'), 'EINVAL');
  assert.equal(mv(a, 'b', c, 'x'), 'EINVAL');
  assert.equal(mv(b, 'c', ROOT_INO, 'c'), 'OK');
  assert.equal(mv(ROOT_INO, 'a', c, 'a'), 'OK', 'c is no longer below a');
});

test('a directory onto one of its ancestors is ENOTEMPTY', () => {
  const a = t.mkdir(ROOT_INO, 'a');
  t.mkdir(a, 'b');
  assert.equal(mv(a, 'b', ROOT_INO, 'a'), 'ENOTEMPTY');
});

test('errors for missing names, bad parents, "." and ".."', () => {
  const f = t.file(ROOT_INO, 'f');
  assert.equal(mv(ROOT_INO, 'nope', ROOT_INO, 'x'), 'ENOENT');
  assert.equal(mv(ROOT_INO, 'f', 999, 'x'), 'ENOENT');
  assert.equal(mv(ROOT_INO, 'f', f, 'x'), 'ENOTDIR');
  assert.equal(mv(ROOT_INO, '.', ROOT_INO, 'x'), 'EBUSY');
  assert.equal(mv(ROOT_INO, 'f', ROOT_INO, '..'), 'EBUSY');
  assert.equal(mv(ROOT_INO, 'f', ROOT_INO, 'a/b'), 'EINVAL');
  assert.equal(mv(ROOT_INO, 'f', ROOT_INO, 'x', 4), 'EINVAL');
});

test('renaming a name onto itself or onto another link of the same inode changes nothing', () => {
  const f = t.file(ROOT_INO, 'f');
  t.run(ROOT, (op) => t.ns.link(op, f, ROOT_INO, 'g'));
  assert.equal(mv(ROOT_INO, 'f', ROOT_INO, 'f'), 'OK');
  assert.equal(mv(ROOT_INO, 'f', ROOT_INO, 'g'), 'OK');
  assert.deepEqual(t.names(ROOT_INO), ['f', 'g']);
  assert.equal(t.ns.getattr(f).nlink, 2);
});

test('RENAME_NOREPLACE fails with EEXIST when the target exists and works when it does not', () => {
  t.file(ROOT_INO, 'a');
  t.file(ROOT_INO, 'b');
  assert.equal(mv(ROOT_INO, 'a', ROOT_INO, 'b', RENAME_NOREPLACE), 'EEXIST');
  assert.equal(mv(ROOT_INO, 'a', ROOT_INO, 'c', RENAME_NOREPLACE), 'OK');
  assert.equal(mv(ROOT_INO, 'b', ROOT_INO, 'c', RENAME_NOREPLACE | RENAME_EXCHANGE), 'EINVAL');
});

test('RENAME_EXCHANGE swaps a file and a directory across parents, fixing link counts and ".."', () => {
  const p1 = t.mkdir(ROOT_INO, 'p1');
  const p2 = t.mkdir(ROOT_INO, 'p2');
  const f = t.file(p1, 'x');
  const d = t.mkdir(p2, 'y');
  assert.equal(t.ns.getattr(p2).nlink, 3);
  assert.equal(mv(p1, 'x', p2, 'y', RENAME_EXCHANGE), 'OK');
  assert.equal(t.ns.lookup(ROOT, p1, 'x').ino, d);
  assert.equal(t.ns.lookup(ROOT, p2, 'y').ino, f);
  assert.equal(t.ns.getattr(p1).nlink, 3);
  assert.equal(t.ns.getattr(p2).nlink, 2);
  assert.equal(t.ns.lookup(ROOT, d, '..').ino, p1);
  const types = t.ns.readdir(ROOT, p1, 0, 10, false).map((e) => e.type);
  assert.deepEqual(types, [S_IFDIR, S_IFDIR, S_IFDIR]);
  assert.equal(t.ns.readdir(ROOT, p2, 0, 10, false)[2]!.type, S_IFREG);
  assert.equal(mv(p1, 'x', p2, 'missing', RENAME_EXCHANGE), 'ENOENT');
});

test('RENAME_EXCHANGE refuses to put a directory below itself', () => {
  const a = t.mkdir(ROOT_INO, 'a');
  t.mkdir(a, 'b');
  assert.equal(mv(ROOT_INO, 'a', a, 'b', RENAME_EXCHANGE), 'EINVAL');
});

test('rename needs write permission on both parents, and on a directory moved to a new parent', () => {
  const mine = t.mkdir(ROOT_INO, 'mine', 0o755, ALICE);
  const theirs = t.mkdir(ROOT_INO, 'theirs', 0o755, BOB);
  t.file(mine, 'f', 0o644, ALICE);
  t.mkdir(mine, 'sub', 0o555, ALICE);
  assert.equal(mv(mine, 'f', theirs, 'f', 0, ALICE), 'EACCES');
  assert.equal(mv(mine, 'f', ROOT_INO, 'f', 0, ALICE), 'OK');
  assert.equal(mv(mine, 'sub', ROOT_INO, 'sub', 0, ALICE), 'EACCES', 'sub has no write bit for ".."');
  assert.equal(mv(mine, 'sub', mine, 'sub2', 0, ALICE), 'OK', 'same parent: ".." does not change');
});

test('rename updates ctime of the moved inode and mtime of both parents', () => {
  const d = t.mkdir(ROOT_INO, 'd');
  const f = t.file(ROOT_INO, 'f');
  const [before, dBefore] = [t.ns.getattr(f), t.ns.getattr(d)];
  assert.equal(mv(ROOT_INO, 'f', d, 'f'), 'OK');
  assert.ok(t.ns.getattr(f).ctimeMs > before.ctimeMs);
  assert.equal(t.ns.getattr(f).mtimeMs, before.mtimeMs);
  assert.ok(t.ns.getattr(d).mtimeMs > dBefore.mtimeMs);
});

test('rename invalidates both entries and both parents', () => {
  const d = t.mkdir(ROOT_INO, 'd');
  t.file(ROOT_INO, 'f');
  mv(ROOT_INO, 'f', d, 'g');
  const events = t.fx.events.map((e) => e.event);
  assert.deepEqual(
    events.filter((e) => e.kind === 'entry'),
    [
      { kind: 'entry', parent: ROOT_INO, name: 'f' },
      { kind: 'entry', parent: d, name: 'g' },
    ],
  );
  assert.ok(events.some((e) => e.kind === 'inode' && e.ino === d));
});
