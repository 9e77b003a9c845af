// setattr rules, open and release with orphans, xattrs, and lfs setstripe/getstripe on the namespace.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ALICE, BOB, CAROL, ROOT, TestNamespace } from '../../../test/lustre/mds-fixtures.ts';
import { ROOT_INO, S_IFREG, XATTR_CREATE, XATTR_REPLACE } from '../types.ts';
import { getstripe, setstripe } from './attrs.ts';
import { extendSize, O_TRUNC, O_WRONLY, openInode, release } from './handles.ts';
import { getxattr, listxattr, removexattr, setxattr } from './xattrs.ts';

let t: TestNamespace;
beforeEach(() => {
  t = new TestNamespace();
  t.run(ROOT, (op) => t.ns.setattr(op, ROOT_INO, { mode: 0o777 }));
});
afterEach(() => t.close());

describe('setattr', () => {
  test('chmod: owner or root; EPERM for others; type bits stay', () => {
    const f = t.file(ROOT_INO, 'f', 0o644, ALICE);
    assert.equal(
      t.errno(BOB, (op) => t.ns.setattr(op, f, { mode: 0o600 })),
      'EPERM',
    );
    assert.equal(t.run(ALICE, (op) => t.ns.setattr(op, f, { mode: 0o600 })).mode, S_IFREG | 0o600);
    assert.equal(t.run(ROOT, (op) => t.ns.setattr(op, f, { mode: 0o4755 })).mode, S_IFREG | 0o4755);
  });

  test("chmod by an owner outside the file's group drops setgid", () => {
    const f = t.file(ROOT_INO, 'f', 0o644, ALICE);
    t.run(ROOT, (op) => t.ns.setattr(op, f, { gid: 500 }));
    assert.equal(t.run(ALICE, (op) => t.ns.setattr(op, f, { mode: 0o2755 })).mode & 0o2000, 0);
  });

  test('chown: only root changes the uid; the owner may pick one of its groups', () => {
    const f = t.file(ROOT_INO, 'f', 0o644, BOB);
    assert.equal(
      t.errno(BOB, (op) => t.ns.setattr(op, f, { uid: 1000 })),
      'EPERM',
    );
    assert.equal(
      t.errno(BOB, (op) => t.ns.setattr(op, f, { uid: 1001 })),
      'OK',
      'to itself',
    );
    assert.equal(
      t.errno(BOB, (op) => t.ns.setattr(op, f, { gid: 1000 })),
      'OK',
      'bob is in group 1000',
    );
    assert.equal(
      t.errno(BOB, (op) => t.ns.setattr(op, f, { gid: 1002 })),
      'EPERM',
    );
    assert.equal(
      t.errno(ALICE, (op) => t.ns.setattr(op, f, { gid: 1000 })),
      'EPERM',
      'not the owner',
    );
    assert.equal(t.run(ROOT, (op) => t.ns.setattr(op, f, { uid: 7, gid: 8 })).uid, 7);
  });

  test('chown by non-root clears setuid, and setgid when group-executable', () => {
    const f = t.file(ROOT_INO, 'f', 0o644, BOB);
    t.run(BOB, (op) => t.ns.setattr(op, f, { mode: 0o6755 }));
    assert.equal(t.run(BOB, (op) => t.ns.setattr(op, f, { gid: 1000 })).mode & 0o7777, 0o0755);
    const g = t.file(ROOT_INO, 'g', 0o644, BOB);
    t.run(BOB, (op) => t.ns.setattr(op, g, { mode: 0o6745 }));
    assert.equal(t.run(BOB, (op) => t.ns.setattr(op, g, { gid: 1000 })).mode & 0o7777, 0o2745);
    const h = t.file(ROOT_INO, 'h', 0o644, BOB);
    t.run(BOB, (op) => t.ns.setattr(op, h, { mode: 0o4755 }));
    assert.equal(t.run(ROOT, (op) => t.ns.setattr(op, h, { gid: 1000 })).mode & 0o7777, 0o4755);
  });

  test('truncate needs write permission; EISDIR on directories; mtime and ctime move', () => {
    const f = t.file(ROOT_INO, 'f', 0o644, ALICE);
    const d = t.mkdir(ROOT_INO, 'd');
    assert.equal(
      t.errno(BOB, (op) => t.ns.setattr(op, f, { size: 0 })),
      'EACCES',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.setattr(op, d, { size: 0 })),
      'EISDIR',
    );
    const before = t.ns.getattr(f);
    const after = t.run(ALICE, (op) => t.ns.setattr(op, f, { size: 5000 }));
    assert.equal(after.size, 5000);
    assert.equal(after.blocks, 10);
    assert.ok(after.mtimeMs > before.mtimeMs && after.ctimeMs > before.ctimeMs);
  });

  test('explicit times need ownership (EPERM); "now" also write permission (EACCES)', () => {
    const f = t.file(ROOT_INO, 'f', 0o664, ALICE);
    assert.equal(
      t.errno(CAROL, (op) => t.ns.setattr(op, f, { mtimeMs: 5 })),
      'EPERM',
    );
    assert.equal(
      t.errno(CAROL, (op) => t.ns.setattr(op, f, { mtimeMs: 'now' })),
      'EACCES',
    );
    assert.equal(
      t.errno(BOB, (op) => t.ns.setattr(op, f, { atimeMs: 'now', mtimeMs: 'now' })),
      'OK',
    );
    const a = t.run(ALICE, (op) => t.ns.setattr(op, f, { atimeMs: 1234.5, mtimeMs: 5678 }));
    assert.equal(a.atimeMs, 1234.5);
    assert.equal(a.mtimeMs, 5678);
    assert.ok(a.ctimeMs > 5678);
  });

  test("every setattr is pushed to all sessions, the caller's too", () => {
    const f = t.file(ROOT_INO, 'f');
    t.run(ROOT, (op) => t.ns.setattr(op, f, { mode: 0o600 }));
    assert.deepEqual(t.fx.events, [{ event: { kind: 'inode', ino: f }, toAll: true }]);
  });
});

describe('open, release, orphans', () => {
  test('open checks access by mode: EACCES, EISDIR for writing a directory, ELOOP on a symlink', () => {
    const f = t.file(ROOT_INO, 'f', 0o640, ALICE);
    const d = t.mkdir(ROOT_INO, 'd');
    const s = t.run(ROOT, (op) => t.ns.symlink(op, ROOT_INO, 's', 'f')).ino;
    assert.equal(
      t.errno(BOB, (op) => openInode(t.ns, op, f, 0)),
      'OK',
      'group may read',
    );
    assert.equal(
      t.errno(BOB, (op) => openInode(t.ns, op, f, O_WRONLY)),
      'EACCES',
    );
    assert.equal(
      t.errno(CAROL, (op) => openInode(t.ns, op, f, 0)),
      'EACCES',
    );
    assert.equal(
      t.errno(ROOT, (op) => openInode(t.ns, op, d, O_WRONLY)),
      'EISDIR',
    );
    assert.equal(
      t.errno(ROOT, (op) => openInode(t.ns, op, d, 0)),
      'OK',
    );
    assert.equal(
      t.errno(ROOT, (op) => openInode(t.ns, op, s, 0)),
      'ELOOP',
    );
    assert.equal(
      t.errno(ROOT, (op) => openInode(t.ns, op, f, 3)),
      'EINVAL',
    );
  });

  test('O_TRUNC records size 0 and needs write permission', () => {
    const f = t.file(ROOT_INO, 'f', 0o644, ALICE);
    t.run(ALICE, (op) => extendSize(t.ns, op, f, 10_000));
    assert.equal(
      t.errno(BOB, (op) => openInode(t.ns, op, f, O_TRUNC)),
      'EACCES',
    );
    const r = t.run(ALICE, (op) => openInode(t.ns, op, f, O_WRONLY | O_TRUNC));
    assert.equal(r.attr.size, 0);
    assert.ok(r.layout);
  });

  test('extendSize only grows the size and moves mtime', () => {
    const f = t.file(ROOT_INO, 'f');
    assert.equal(t.run(ROOT, (op) => extendSize(t.ns, op, f, 100)).size, 100);
    const a = t.run(ROOT, (op) => extendSize(t.ns, op, f, 50));
    assert.equal(a.size, 100);
    assert.equal(
      t.errno(ROOT, (op) => extendSize(t.ns, op, ROOT_INO, 5)),
      'EISDIR',
    );
  });

  test('an unlinked open file is an orphan until its last handle goes, then its objects are queued', () => {
    const a = t.open(ROOT_INO, 'f');
    const b = t.run(ROOT, (op) => openInode(t.ns, op, a.ino, 0));
    t.run(ROOT, (op) => t.ns.unlink(op, ROOT_INO, 'f'));
    assert.deepEqual(t.store.orphans(), [a.ino]);
    assert.equal(t.ns.getattr(a.ino).nlink, 0, 'fstat still works');
    assert.equal(t.store.pendingCount(), 0);
    t.run(ROOT, (op) => release(t.ns, op, a.handle));
    assert.deepEqual(t.store.orphans(), [a.ino]);
    t.run(ROOT, (op) => release(t.ns, op, b.handle));
    assert.deepEqual(t.store.orphans(), []);
    assert.equal(
      t.errno(ROOT, () => t.ns.getattr(a.ino)),
      'ENOENT',
    );
    assert.equal(t.store.pendingCount(), 1);
  });

  test('release of a handle of another client, or twice, is EBADF', () => {
    const a = t.open(ROOT_INO, 'f', ROOT, 'c1');
    assert.equal(
      t.errno(ROOT, (op) => release(t.ns, { ...op, client: 'c2' }, a.handle)),
      'EBADF',
    );
    t.run(ROOT, (op) => release(t.ns, op, a.handle));
    assert.equal(
      t.errno(ROOT, (op) => release(t.ns, op, a.handle)),
      'EBADF',
    );
  });

  test('an open directory removed by rmdir stays readable as empty until released', () => {
    const d = t.mkdir(ROOT_INO, 'd');
    const h = t.run(ROOT, (op) => openInode(t.ns, op, d, 0)).handle;
    t.run(ROOT, (op) => t.ns.rmdir(op, ROOT_INO, 'd'));
    assert.deepEqual(t.ns.readdir(ROOT, d, 0, 10, false), []);
    t.run(ROOT, (op) => release(t.ns, op, h));
    assert.equal(
      t.errno(ROOT, () => t.ns.getattr(d)),
      'ENOENT',
    );
  });
});

describe('xattrs', () => {
  const v = (s: string) => Buffer.from(s);

  test('set, get, list, remove; XATTR_CREATE and XATTR_REPLACE', () => {
    const f = t.file(ROOT_INO, 'f', 0o644, ALICE);
    t.run(ALICE, (op) => setxattr(t.ns, op, f, 'user.a', v('1'), 0));
    assert.equal(
      t.errno(ALICE, (op) => setxattr(t.ns, op, f, 'user.a', v('2'), XATTR_CREATE)),
      'EEXIST',
    );
    assert.equal(
      t.errno(ALICE, (op) => setxattr(t.ns, op, f, 'user.b', v('2'), XATTR_REPLACE)),
      'ENODATA',
    );
    t.run(ALICE, (op) => setxattr(t.ns, op, f, 'user.a', v('3'), XATTR_REPLACE));
    assert.deepEqual(getxattr(t.ns, ALICE, f, 'user.a'), v('3'));
    t.run(ALICE, (op) => setxattr(t.ns, op, f, 'user.empty', Buffer.alloc(0), 0));
    assert.deepEqual(listxattr(t.ns, ALICE, f), ['user.a', 'user.empty']);
    t.run(ALICE, (op) => removexattr(t.ns, op, f, 'user.a'));
    assert.equal(
      t.errno(ALICE, () => getxattr(t.ns, ALICE, f, 'user.a')),
      'ENODATA',
    );
    assert.equal(
      t.errno(ALICE, (op) => removexattr(t.ns, op, f, 'user.a')),
      'ENODATA',
    );
  });

  test('limits: 255-byte names (ERANGE beyond), 64 KiB values (E2BIG beyond), known namespaces only', () => {
    const f = t.file(ROOT_INO, 'f');
    const name255 = `user.${'n'.repeat(250)}`;
    assert.equal(
      t.errno(ROOT, (op) => setxattr(t.ns, op, f, name255, v('x'), 0)),
      'OK',
    );
    assert.equal(
      t.errno(ROOT, (op) => setxattr(t.ns, op, f, `${name255}x`, v('x'), 0)),
      'ERANGE',
    );
    assert.equal(
      t.errno(ROOT, (op) => setxattr(t.ns, op, f, 'user.big', Buffer.alloc(65_536), 0)),
      'OK',
    );
    assert.equal(
      t.errno(ROOT, (op) => setxattr(t.ns, op, f, 'user.big', Buffer.alloc(65_537), 0)),
      'E2BIG',
    );
    assert.equal(
      t.errno(ROOT, (op) => setxattr(t.ns, op, f, 'other.x', v('x'), 0)),
      'EOPNOTSUPP',
    );
    assert.equal(
      t.errno(ROOT, (op) => setxattr(t.ns, op, f, 'system.posix_acl_access', v('x'), 0)),
      'EOPNOTSUPP',
    );
    assert.equal(
      t.errno(ROOT, (op) => setxattr(t.ns, op, f, 'user.x', v('x'), 3)),
      'EINVAL',
    );
  });

  test("permissions: user.* follows the mode bits, trusted.* is root's alone", () => {
    const f = t.file(ROOT_INO, 'f', 0o640, ALICE);
    assert.equal(
      t.errno(BOB, (op) => setxattr(t.ns, op, f, 'user.x', v('x'), 0)),
      'EACCES',
    );
    t.run(ALICE, (op) => setxattr(t.ns, op, f, 'user.x', v('x'), 0));
    assert.deepEqual(getxattr(t.ns, BOB, f, 'user.x'), v('x'));
    assert.equal(
      t.errno(CAROL, () => getxattr(t.ns, CAROL, f, 'user.x')),
      'EACCES',
    );
    assert.equal(
      t.errno(ALICE, (op) => setxattr(t.ns, op, f, 'trusted.t', v('t'), 0)),
      'EPERM',
    );
    t.run(ROOT, (op) => setxattr(t.ns, op, f, 'trusted.t', v('t'), 0));
    assert.deepEqual(listxattr(t.ns, ALICE, f), ['user.x']);
    assert.deepEqual(listxattr(t.ns, ROOT, f), ['trusted.t', 'user.x']);
    assert.equal(
      t.errno(ALICE, () => getxattr(t.ns, ALICE, f, 'trusted.t')),
      'ENODATA',
    );
    const s = t.run(ROOT, (op) => t.ns.symlink(op, ROOT_INO, 's', 'f')).ino;
    assert.equal(
      t.errno(ROOT, (op) => setxattr(t.ns, op, s, 'user.x', v('x'), 0)),
      'EPERM',
    );
  });

  test('xattrs go with their inode', () => {
    const f = t.file(ROOT_INO, 'f');
    t.run(ROOT, (op) => setxattr(t.ns, op, f, 'user.x', v('x'), 0));
    t.run(ROOT, (op) => t.ns.unlink(op, ROOT_INO, 'f'));
    assert.deepEqual(t.store.listXattrs(f), []);
  });
});

describe('setstripe and getstripe', () => {
  test('a directory policy is inherited by new files below it, at any depth', () => {
    const d = t.mkdir(ROOT_INO, 'd');
    const sub = t.mkdir(d, 'sub');
    const policy = { stripeSize: 4 << 20, stripeCount: 2, stripeOffset: -1 };
    t.run(ROOT, (op) => setstripe(t.ns, op, d, policy));
    assert.deepEqual(getstripe(t.ns, sub), { layout: null, policy });
    const f = t.file(sub, 'f');
    const layout = t.ns.getLayout(f)!;
    assert.equal(layout.stripeSize, 4 << 20);
    assert.equal(layout.stripeCount, 2);
    assert.equal(new Set(layout.osts).size, 2);
    assert.equal(getstripe(t.ns, ROOT_INO).policy?.stripeCount, 1, 'the file system default elsewhere');
  });

  test('setstripe on an empty file replaces its layout; once it has data it is EBUSY', () => {
    const f = t.file(ROOT_INO, 'f');
    t.run(ROOT, (op) => setstripe(t.ns, op, f, { stripeSize: 65_536, stripeCount: -1, stripeOffset: 0 }));
    assert.deepEqual(getstripe(t.ns, f).layout, { stripeSize: 65_536, stripeCount: 4, osts: [0, 1, 2, 3] });
    t.run(ROOT, (op) => extendSize(t.ns, op, f, 1));
    const p = { stripeSize: 65_536, stripeCount: 1, stripeOffset: -1 };
    assert.equal(
      t.errno(ROOT, (op) => setstripe(t.ns, op, f, p)),
      'EBUSY',
    );
  });

  test('bad policies are EINVAL; others than the owner get EPERM', () => {
    const d = t.mkdir(ROOT_INO, 'd', 0o777, ALICE);
    const bad = [
      { stripeSize: 1000, stripeCount: 1, stripeOffset: -1 },
      { stripeSize: 65_536, stripeCount: 0, stripeOffset: -1 },
      { stripeSize: 65_536, stripeCount: 1, stripeOffset: -2 },
    ];
    for (const p of bad)
      assert.equal(
        t.errno(ALICE, (op) => setstripe(t.ns, op, d, p)),
        'EINVAL',
      );
    const ok = { stripeSize: 65_536, stripeCount: 1, stripeOffset: -1 };
    assert.equal(
      t.errno(BOB, (op) => setstripe(t.ns, op, d, ok)),
      'EPERM',
    );
    const s = t.run(ROOT, (op) => t.ns.symlink(op, ROOT_INO, 's', 'x')).ino;
    assert.equal(
      t.errno(ROOT, (op) => setstripe(t.ns, op, s, ok)),
      'EINVAL',
    );
  });
});
