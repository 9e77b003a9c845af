// The namespace operation by operation, errno by errno: names, create, mknod, mkdir, unlink, rmdir, link, symlink, readdir.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ALICE, ROOT, TestNamespace } from '../../../test/lustre/mds-fixtures.ts';
import { ROOT_INO, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG } from '../types.ts';

let t: TestNamespace;
beforeEach(() => {
  t = new TestNamespace();
  t.run(ROOT, (op) => t.ns.setattr(op, ROOT_INO, { mode: 0o777 }));
});
afterEach(() => t.close());

describe('names', () => {
  test('a name of 255 bytes works, 256 bytes is ENAMETOOLONG (counted in UTF-8 bytes)', () => {
    assert.equal(
      t.errno(ROOT, (op) => t.ns.mkdir(op, ROOT_INO, 'x'.repeat(255), 0o755)),
      'OK',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.mkdir(op, ROOT_INO, 'x'.repeat(256), 0o755)),
      'ENAMETOOLONG',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.mkdir(op, ROOT_INO, 'é'.repeat(128), 0o755)),
      'ENAMETOOLONG',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.lookup(op.cred, ROOT_INO, 'y'.repeat(300))),
      'ENAMETOOLONG',
    );
  });

  test('empty names, slashes and NUL are EINVAL', () => {
    for (const bad of ['', 'a/b', '/', 'a\0b']) {
      assert.equal(
        t.errno(ROOT, (op) => t.ns.mkdir(op, ROOT_INO, bad, 0o755)),
        'EINVAL',
        JSON.stringify(bad),
      );
      assert.equal(
        t.errno(ROOT, (op) => t.ns.lookup(op.cred, ROOT_INO, bad)),
        'EINVAL',
      );
    }
  });

  test('"." and ".." resolve in lookup and are refused where they cannot be created or removed', () => {
    const a = t.mkdir(ROOT_INO, 'a');
    const b = t.mkdir(a, 'b');
    assert.equal(t.ns.lookup(ROOT, b, '.').ino, b);
    assert.equal(t.ns.lookup(ROOT, b, '..').ino, a);
    assert.equal(t.ns.lookup(ROOT, ROOT_INO, '..').ino, ROOT_INO);
    assert.equal(
      t.errno(ROOT, (op) => t.ns.mkdir(op, a, '.', 0o755)),
      'EEXIST',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.mkdir(op, a, '..', 0o755)),
      'EEXIST',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.create(op, a, '.', 0o644, true, false, 0)),
      'EEXIST',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.unlink(op, a, '.')),
      'EISDIR',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.rmdir(op, a, '.')),
      'EINVAL',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.rmdir(op, a, '..')),
      'ENOTEMPTY',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.symlink(op, a, '..', 'x')),
      'EEXIST',
    );
  });
});

describe('create, mknod, mkdir', () => {
  test('create returns a regular file with a layout; O_EXCL on an existing name is EEXIST', () => {
    const r = t.run(ALICE, (op) => t.ns.create(op, ROOT_INO, 'f', 0o640, true, false, 0));
    assert.equal(r.created, true);
    assert.equal(r.attr.mode, S_IFREG | 0o640);
    assert.equal(r.attr.nlink, 1);
    assert.equal(r.attr.uid, 1000);
    assert.equal(r.layout.stripeCount, 1);
    assert.equal(r.handle, null);
    assert.equal(
      t.errno(ALICE, (op) => t.ns.create(op, ROOT_INO, 'f', 0o640, true, false, 0)),
      'EEXIST',
    );
  });

  test('create without O_EXCL opens the existing file; on a directory it is EISDIR', () => {
    const first = t.open(ROOT_INO, 'f');
    const again = t.run(ROOT, (op) => t.ns.create(op, ROOT_INO, 'f', 0o644, false, true, 2));
    assert.equal(again.created, false);
    assert.equal(again.attr.ino, first.ino);
    assert.notEqual(again.handle, first.handle);
    t.mkdir(ROOT_INO, 'd');
    assert.equal(
      t.errno(ROOT, (op) => t.ns.create(op, ROOT_INO, 'd', 0o644, false, true, 0)),
      'EISDIR',
    );
  });

  test('create in a missing or non-directory parent: ENOENT, ENOTDIR', () => {
    const f = t.file(ROOT_INO, 'f');
    assert.equal(
      t.errno(ROOT, (op) => t.ns.create(op, 999, 'x', 0o644, true, false, 0)),
      'ENOENT',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.create(op, f, 'x', 0o644, true, false, 0)),
      'ENOTDIR',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.mkdir(op, f, 'x', 0o755)),
      'ENOTDIR',
    );
  });

  test('mkdir sets nlink 2 and the parent gains a link per subdirectory', () => {
    const a = t.mkdir(ROOT_INO, 'a');
    assert.equal(t.ns.getattr(a).nlink, 2);
    assert.equal(t.ns.getattr(a).mode, S_IFDIR | 0o755);
    t.mkdir(a, 'b');
    t.mkdir(a, 'c');
    t.file(a, 'f');
    assert.equal(t.ns.getattr(a).nlink, 4);
    assert.equal(t.ns.getattr(ROOT_INO).nlink, 3);
    t.run(ROOT, (op) => t.ns.rmdir(op, a, 'b'));
    assert.equal(t.ns.getattr(a).nlink, 3);
  });

  test('mknod makes fifos for anyone, devices only for root, and never directories', () => {
    const fifo = t.run(ALICE, (op) => t.ns.mknod(op, ROOT_INO, 'p', S_IFIFO | 0o600, 0));
    assert.equal(fifo.mode & S_IFMT, S_IFIFO);
    assert.equal(
      t.errno(ALICE, (op) => t.ns.mknod(op, ROOT_INO, 'c', S_IFCHR | 0o600, 0x0103)),
      'EPERM',
    );
    const dev = t.run(ROOT, (op) => t.ns.mknod(op, ROOT_INO, 'c', S_IFCHR | 0o600, 0x0103));
    assert.equal(dev.rdev, 0x0103);
    assert.equal(
      t.errno(ROOT, (op) => t.ns.mknod(op, ROOT_INO, 'd', S_IFDIR | 0o755, 0)),
      'EPERM',
    );
    const reg = t.run(ROOT, (op) => t.ns.mknod(op, ROOT_INO, 'r', 0o644, 0));
    assert.equal(reg.mode & S_IFMT, S_IFREG);
    assert.ok(t.ns.getLayout(reg.ino), 'a regular file made by mknod has a layout');
  });

  test('creating in a directory without write permission is EACCES', () => {
    const d = t.mkdir(ROOT_INO, 'ro', 0o755);
    assert.equal(
      t.errno(ALICE, (op) => t.ns.create(op, d, 'f', 0o644, true, false, 0)),
      'EACCES',
    );
    assert.equal(
      t.errno(ALICE, (op) => t.ns.mknod(op, d, 'p', S_IFIFO | 0o644, 0)),
      'EACCES',
    );
    assert.equal(
      t.errno(ALICE, (op) => t.ns.symlink(op, d, 's', 'x')),
      'EACCES',
    );
  });

  test('the parent gets new mtime and ctime when an entry is added', () => {
    const before = t.ns.getattr(ROOT_INO);
    t.file(ROOT_INO, 'f');
    const after = t.ns.getattr(ROOT_INO);
    assert.ok(after.mtimeMs > before.mtimeMs && after.ctimeMs > before.ctimeMs);
  });

  test('a setgid directory passes its group and, to subdirectories, the setgid bit', () => {
    const d = t.mkdir(ROOT_INO, 'shared', 0o2777);
    t.run(ROOT, (op) => t.ns.setattr(op, d, { gid: 500, mode: 0o2777 }));
    const f = t.file(d, 'f', 0o644, ALICE);
    const sub = t.mkdir(d, 'sub', 0o755, ALICE);
    assert.equal(t.ns.getattr(f).gid, 500);
    assert.equal(t.ns.getattr(sub).gid, 500);
    assert.equal(t.ns.getattr(sub).mode & 0o2000, 0o2000);
  });

  test('a non-member creating a setgid file loses the setgid bit', () => {
    const d = t.mkdir(ROOT_INO, 'd', 0o777);
    t.run(ROOT, (op) => t.ns.setattr(op, d, { gid: 500, mode: 0o2777 }));
    const r = t.run(ALICE, (op) => t.ns.create(op, d, 'f', 0o2755, true, false, 0));
    assert.equal(r.attr.gid, 500);
    assert.equal(r.attr.mode & 0o2000, 0, 'alice is not in group 500');
    const own = t.run(ALICE, (op) => t.ns.create(op, ROOT_INO, 'g', 0o2755, true, false, 0));
    assert.equal(own.attr.mode & 0o2000, 0o2000, 'alice is in her own group');
  });
});

describe('unlink and rmdir', () => {
  test('unlink: ENOENT for a missing name, EISDIR for a directory; the name disappears', () => {
    t.file(ROOT_INO, 'f');
    t.mkdir(ROOT_INO, 'd');
    assert.equal(
      t.errno(ROOT, (op) => t.ns.unlink(op, ROOT_INO, 'nope')),
      'ENOENT',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.unlink(op, ROOT_INO, 'd')),
      'EISDIR',
    );
    t.run(ROOT, (op) => t.ns.unlink(op, ROOT_INO, 'f'));
    assert.equal(
      t.errno(ROOT, (op) => t.ns.lookup(op.cred, ROOT_INO, 'f')),
      'ENOENT',
    );
  });

  test('rmdir: ENOTDIR for a file, ENOTEMPTY with entries, then it works', () => {
    const d = t.mkdir(ROOT_INO, 'd');
    t.file(ROOT_INO, 'f');
    t.file(d, 'inner');
    assert.equal(
      t.errno(ROOT, (op) => t.ns.rmdir(op, ROOT_INO, 'f')),
      'ENOTDIR',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.rmdir(op, ROOT_INO, 'd')),
      'ENOTEMPTY',
    );
    t.run(ROOT, (op) => t.ns.unlink(op, d, 'inner'));
    t.run(ROOT, (op) => t.ns.rmdir(op, ROOT_INO, 'd'));
    assert.equal(
      t.errno(ROOT, () => t.ns.getattr(d)),
      'ENOENT',
    );
    assert.equal(t.ns.getattr(ROOT_INO).nlink, 2);
  });

  test('unlinking a file queues its objects for destruction', () => {
    const f = t.file(ROOT_INO, 'f');
    const ost = t.ns.getLayout(f)!.osts[0]!;
    assert.equal(t.store.pendingCount(), 0);
    t.run(ROOT, (op) => t.ns.unlink(op, ROOT_INO, 'f'));
    assert.deepEqual(
      t.store.pendingFor(ost, 10).map((r) => r.object),
      [`${f}.0`],
    );
    assert.ok(t.fx.destroyQueued);
    assert.equal(
      t.errno(ROOT, () => t.ns.getattr(f)),
      'ENOENT',
    );
  });

  test('a created directory can not be created in after it was removed', () => {
    const d = t.mkdir(ROOT_INO, 'd');
    t.run(ROOT, (op) => t.ns.rmdir(op, ROOT_INO, 'd'));
    assert.equal(
      t.errno(ROOT, (op) => t.ns.mkdir(op, d, 'x', 0o755)),
      'ENOENT',
    );
  });
});

describe('link and symlink', () => {
  test('link adds a name and a link; unlinking one name keeps the inode', () => {
    const f = t.file(ROOT_INO, 'f');
    const d = t.mkdir(ROOT_INO, 'd');
    const attr = t.run(ROOT, (op) => t.ns.link(op, f, d, 'g'));
    assert.equal(attr.nlink, 2);
    assert.equal(t.ns.lookup(ROOT, d, 'g').ino, f);
    t.run(ROOT, (op) => t.ns.unlink(op, ROOT_INO, 'f'));
    assert.equal(t.ns.getattr(f).nlink, 1);
    assert.equal(t.store.pendingCount(), 0);
  });

  test('link: EPERM on a directory, EEXIST on a taken name, ENOENT for a missing inode', () => {
    const f = t.file(ROOT_INO, 'f');
    const d = t.mkdir(ROOT_INO, 'd');
    assert.equal(
      t.errno(ROOT, (op) => t.ns.link(op, d, ROOT_INO, 'd2')),
      'EPERM',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.link(op, f, ROOT_INO, 'd')),
      'EEXIST',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.link(op, 12345, ROOT_INO, 'x')),
      'ENOENT',
    );
  });

  test('link of an open but unlinked file is ENOENT', () => {
    const { ino } = t.open(ROOT_INO, 'f');
    t.run(ROOT, (op) => t.ns.unlink(op, ROOT_INO, 'f'));
    assert.equal(
      t.errno(ROOT, (op) => t.ns.link(op, ino, ROOT_INO, 'back')),
      'ENOENT',
    );
  });

  test('link past LINK_MAX is EMLINK', () => {
    const f = t.file(ROOT_INO, 'f');
    const row = t.store.getInode(f)!;
    t.store.updateInode({ ...row, nlink: 65_000 });
    assert.equal(
      t.errno(ROOT, (op) => t.ns.link(op, f, ROOT_INO, 'g')),
      'EMLINK',
    );
  });

  test('symlink stores its target; readlink returns it; readlink of a file is EINVAL', () => {
    const s = t.run(ALICE, (op) => t.ns.symlink(op, ROOT_INO, 'ln', '../some/where'));
    assert.equal(s.mode, S_IFLNK | 0o777);
    assert.equal(s.size, Buffer.byteLength('../some/where'));
    assert.equal(t.ns.readlink(s.ino), '../some/where');
    const f = t.file(ROOT_INO, 'f');
    assert.equal(
      t.errno(ROOT, () => t.ns.readlink(f)),
      'EINVAL',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.symlink(op, ROOT_INO, 'e', '')),
      'ENOENT',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.symlink(op, ROOT_INO, 'l', 'x'.repeat(4096))),
      'ENAMETOOLONG',
    );
  });
});

describe('readdir', () => {
  test('lists ".", ".." and entries with types; plus adds attributes', () => {
    const d = t.mkdir(ROOT_INO, 'd');
    t.file(d, 'f');
    t.mkdir(d, 'sub');
    const all = t.ns.readdir(ROOT, d, 0, 100, true);
    assert.deepEqual(
      all.map((e) => [e.name, e.type]),
      [
        ['.', S_IFDIR],
        ['..', S_IFDIR],
        ['f', S_IFREG],
        ['sub', S_IFDIR],
      ],
    );
    assert.equal(all[1]!.ino, ROOT_INO);
    assert.equal(all[2]!.attr?.mode, S_IFREG | 0o644);
    assert.equal(t.ns.readdir(ROOT, d, 0, 100, false)[2]!.attr, undefined);
  });

  test('paging by cookie sees every entry once while others are added and removed', () => {
    const d = t.mkdir(ROOT_INO, 'd');
    const live = new Set<string>();
    for (let i = 0; i < 50; i++) {
      t.file(d, `f${i}`);
      live.add(`f${i}`);
    }
    const stable = new Set(live);
    const seen: string[] = [];
    let cookie = 0;
    for (let round = 0; ; round++) {
      const page = t.ns.readdir(ROOT, d, cookie, 7, false);
      if (page.length === 0) break;
      seen.push(...page.map((e) => e.name));
      cookie = page.at(-1)!.cookie;
      // Churn between pages: remove one entry not listed yet and one already listed, add one.
      const unseen = [...live].filter((n) => !seen.includes(n)).at(-1);
      const listed = [...live].find((n) => seen.includes(n));
      for (const n of [unseen, listed]) {
        if (n === undefined) continue;
        t.run(ROOT, (op) => t.ns.unlink(op, d, n));
        live.delete(n);
        stable.delete(n);
      }
      if (round < 5) {
        t.file(d, `new${round}`);
        live.add(`new${round}`);
      }
    }
    assert.equal(new Set(seen).size, seen.length, 'no entry twice');
    for (const n of stable) assert.ok(seen.includes(n), `${n} was listed`);
    assert.ok(stable.size > 20);
    assert.deepEqual(seen.slice(0, 2), ['.', '..']);
  });

  test('readdir of a file is ENOTDIR; a removed but open directory lists nothing', () => {
    const f = t.file(ROOT_INO, 'f');
    assert.equal(
      t.errno(ROOT, (op) => t.ns.readdir(op.cred, f, 0, 10, false)),
      'ENOTDIR',
    );
  });
});

test('statfs counts inodes in use', () => {
  const before = t.ns.statfs();
  t.file(ROOT_INO, 'a');
  t.mkdir(ROOT_INO, 'b');
  const after = t.ns.statfs();
  assert.equal(before.ffree - after.ffree, 2);
  t.run(ROOT, (op) => t.ns.unlink(op, ROOT_INO, 'a'));
  assert.equal(t.ns.statfs().ffree, after.ffree + 1);
});

test('a failed operation leaves nothing behind', () => {
  t.osts = [];
  assert.equal(
    t.errno(ROOT, (op) => t.ns.create(op, ROOT_INO, 'f', 0o644, true, false, 0)),
    'ENOSPC',
  );
  assert.equal(
    t.errno(ROOT, (op) => t.ns.lookup(op.cred, ROOT_INO, 'f')),
    'ENOENT',
  );
  assert.deepEqual(t.names(ROOT_INO), []);
});
