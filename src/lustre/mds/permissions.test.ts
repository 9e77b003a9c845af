// Permission checks of the namespace: mode bits by owner, group and other, supplementary groups, root, sticky directories.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ALICE, BOB, CAROL, ROOT, TestNamespace } from '../../../test/lustre/mds-fixtures.ts';
import { ROOT_INO } from '../types.ts';

let t: TestNamespace;
beforeEach(() => {
  t = new TestNamespace();
  t.run(ROOT, (op) => t.ns.setattr(op, ROOT_INO, { mode: 0o777 }));
});
afterEach(() => t.close());

describe('permissions', () => {
  test('creating needs write and search permission on the directory', () => {
    const d = t.mkdir(ROOT_INO, 'd', 0o755, ALICE);
    assert.equal(
      t.errno(BOB, (op) => t.ns.mkdir(op, d, 'x', 0o755)),
      'EACCES',
    );
    t.run(ALICE, (op) => t.ns.setattr(op, d, { mode: 0o775 }));
    assert.equal(
      t.errno(BOB, (op) => t.ns.mkdir(op, d, 'x', 0o755)),
      'OK',
      "bob is in alice's group",
    );
    assert.equal(
      t.errno(CAROL, (op) => t.ns.mkdir(op, d, 'y', 0o755)),
      'EACCES',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.mkdir(op, d, 'z', 0o755)),
      'OK',
    );
  });

  test('the owner class alone applies to the owner, even when others may do more', () => {
    const d = t.mkdir(ROOT_INO, 'd', 0o077, ALICE);
    assert.equal(
      t.errno(ALICE, (op) => t.ns.lookup(op.cred, d, 'x')),
      'EACCES',
    );
    assert.equal(
      t.errno(CAROL, (op) => t.ns.lookup(op.cred, d, 'x')),
      'ENOENT',
    );
  });

  test('lookup needs search permission; readdir needs read permission', () => {
    const d = t.mkdir(ROOT_INO, 'd', 0o700, ALICE);
    t.file(d, 'f', 0o644, ALICE);
    assert.equal(
      t.errno(BOB, (op) => t.ns.lookup(op.cred, d, 'f')),
      'EACCES',
    );
    assert.equal(
      t.errno(BOB, (op) => t.ns.readdir(op.cred, d, 0, 10, false)),
      'EACCES',
    );
    t.run(ALICE, (op) => t.ns.setattr(op, d, { mode: 0o711 }));
    assert.equal(
      t.errno(BOB, (op) => t.ns.lookup(op.cred, d, 'f')),
      'OK',
    );
    assert.equal(
      t.errno(BOB, (op) => t.ns.readdir(op.cred, d, 0, 10, false)),
      'EACCES',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.readdir(op.cred, d, 0, 10, false)),
      'OK',
    );
  });

  test('sticky directories: only the owner of the entry, of the directory, or root may remove it', () => {
    const tmp = t.mkdir(ROOT_INO, 'tmp', 0o1777);
    t.file(tmp, 'alices', 0o644, ALICE);
    t.file(tmp, 'bobs', 0o644, BOB);
    assert.equal(
      t.errno(BOB, (op) => t.ns.unlink(op, tmp, 'alices')),
      'EPERM',
    );
    assert.equal(
      t.errno(BOB, (op) => t.ns.rename(op, tmp, 'alices', tmp, 'mine', 0)),
      'EPERM',
    );
    assert.equal(
      t.errno(ALICE, (op) => t.ns.rename(op, tmp, 'alices', tmp, 'bobs', 0)),
      'EPERM',
    );
    assert.equal(
      t.errno(BOB, (op) => t.ns.unlink(op, tmp, 'bobs')),
      'OK',
    );
    assert.equal(
      t.errno(ROOT, (op) => t.ns.unlink(op, tmp, 'alices')),
      'OK',
    );
  });
});
