// Project quotas on the namespace: inheritance, inode and block limits (EDQUOT), grants, rename EXDEV, usage after a restart.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { ALICE, fourOsts, ROOT, TestNamespace } from '../../../test/lustre/mds-fixtures.ts';
import { RENAME_EXCHANGE, ROOT_INO } from '../types.ts';
import { extendSize, openInode } from './handles.ts';
import { Effects, type OpContext } from './inodes.ts';
import { DEFAULT_POLICY, LayoutAllocator } from './layout.ts';
import { Namespace } from './namespace.ts';
import { Store } from './store.ts';

const MiB = 1024 * 1024;
let t: TestNamespace;
beforeEach(() => {
  t = new TestNamespace();
  t.run(ROOT, (op) => t.ns.setattr(op, ROOT_INO, { mode: 0o777 }));
});
afterEach(() => t.close());

const quota = (id: number) => t.ns.projects.quota(id);
const grow = (ino: number, end: number, client = 'c1') =>
  t.errno(ROOT, (op) => extendSize(t.ns, { ...op, client }, ino, end));

/** A directory passing project `id` on, with the given limits. */
function projectDir(name: string, id: number, blocks = 0, inodes = 0): number {
  const d = t.mkdir(ROOT_INO, name, 0o777);
  t.run(ROOT, () => t.ns.projects.setProject(ROOT, d, id, true));
  t.run(ROOT, () => t.ns.projects.setQuota(id, { blockHardLimitBytes: blocks, inodeHardLimit: inodes }));
  return d;
}

test('new files, directories, symlinks and nodes below an inherit directory take its project, recursively', () => {
  const d = projectDir('vol', 42);
  const sub = t.mkdir(d, 'sub');
  const f = t.file(sub, 'f');
  const l = t.run(ROOT, (op) => t.ns.symlink(op, sub, 'l', 'f')).ino;
  const n = t.run(ROOT, (op) => t.ns.mknod(op, sub, 'fifo', 0o010644, 0)).ino;
  assert.deepEqual(t.ns.projects.project(sub), { projid: 42, inherit: true });
  for (const ino of [f, l, n]) assert.deepEqual(t.ns.projects.project(ino), { projid: 42, inherit: false });
  assert.equal(quota(42).inodeUsage, 5, 'vol, sub, f, l, fifo');
  const outside = t.file(ROOT_INO, 'outside');
  assert.deepEqual(t.ns.projects.project(outside), { projid: 0, inherit: false });
});

test('a directory with a project but without inherit does not pass it on', () => {
  const d = t.mkdir(ROOT_INO, 'd');
  t.run(ROOT, () => t.ns.projects.setProject(ROOT, d, 7, false));
  assert.equal(t.ns.projects.project(t.file(d, 'f')).projid, 0);
});

test('creating past the inode limit is EDQUOT and changes nothing; deleting frees the inode', () => {
  const d = projectDir('vol', 42, 0, 3);
  t.file(d, 'a');
  t.mkdir(d, 'b');
  assert.equal(quota(42).inodeUsage, 3);
  assert.equal(
    t.errno(ROOT, (op) => t.ns.create(op, d, 'c', 0o644, true, false, 0)),
    'EDQUOT',
  );
  assert.equal(
    t.errno(ROOT, (op) => t.ns.mkdir(op, d, 'c', 0o755)),
    'EDQUOT',
  );
  assert.deepEqual(t.names(d), ['a', 'b']);
  assert.equal(quota(42).inodeUsage, 3);
  t.run(ROOT, (op) => t.ns.unlink(op, d, 'a'));
  assert.equal(quota(42).inodeUsage, 2);
  t.file(d, 'c');
});

test('growing a file past the block limit is EDQUOT; usage follows sizes, truncation and unlink', () => {
  const d = projectDir('vol', 42, 8 * MiB);
  const f = t.file(d, 'f');
  assert.equal(grow(f, 6 * MiB), 'OK');
  assert.equal(quota(42).blockUsageBytes, 6 * MiB);
  assert.equal(grow(f, 8 * MiB + 1), 'EDQUOT');
  assert.equal(t.ns.getattr(f).size, 6 * MiB, 'the refused growth left the size alone');
  assert.equal(grow(f, 8 * MiB), 'OK');
  const g = t.file(d, 'g');
  assert.equal(
    t.errno(ROOT, (op) => t.ns.setattr(op, g, { size: 1 })),
    'EDQUOT',
  );
  t.run(ROOT, (op) => t.ns.setattr(op, f, { size: MiB }));
  assert.equal(quota(42).blockUsageBytes, MiB);
  const { handle } = t.run(ROOT, (op) => openInode(t.ns, op, f, 0o1001));
  t.run(ROOT, (op) => t.ns.closeHandle(handle, op.fx));
  assert.equal(quota(42).blockUsageBytes, 0, 'O_TRUNC frees the blocks');
  assert.equal(grow(f, 3 * MiB), 'OK');
  t.run(ROOT, (op) => t.ns.unlink(op, d, 'f'));
  assert.deepEqual(quota(42), {
    blockUsageBytes: 0,
    inodeUsage: 2,
    blockHardLimitBytes: 8 * MiB,
    inodeHardLimit: 0,
  });
});

test('an open-unlinked file keeps its blocks charged until its last close', () => {
  const d = projectDir('vol', 42, 8 * MiB);
  const { ino, handle } = t.open(d, 'f');
  assert.equal(grow(ino, 2 * MiB), 'OK');
  t.run(ROOT, (op) => t.ns.unlink(op, d, 'f'));
  assert.equal(quota(42).blockUsageBytes, 2 * MiB);
  t.run(ROOT, (op) => t.ns.closeHandle(handle, op.fx));
  assert.equal(quota(42).blockUsageBytes, 0);
});

test('grants reserve quota for one client: others see less room, the holder grows within it', () => {
  const d = projectDir('vol', 42, 8 * MiB);
  const f = t.open(d, 'f', ROOT, 'a');
  const g = t.open(d, 'g', ROOT, 'b');
  const a = t.ns.projects.grant('a', f.ino, MiB);
  assert.equal(a.end, MiB + (7 * MiB) / 4, 'what was asked and a quarter of the rest');
  assert.throws(() => t.ns.projects.grant('b', g.ino, 6 * MiB), { code: 'EDQUOT' });
  assert.equal(grow(g.ino, 5.25 * MiB + 512, 'b'), 'EDQUOT', 'growth without a grant respects reservations');
  assert.equal(grow(g.ino, 5.25 * MiB, 'b'), 'OK');
  assert.equal(grow(f.ino, 2.75 * MiB, 'a'), 'OK', 'the holder grows within its grant');
  assert.equal(quota(42).blockUsageBytes, 8 * MiB);
  assert.throws(() => t.ns.projects.grant('a', f.ino, 2.75 * MiB + 1), { code: 'EDQUOT' });
  t.run(ROOT, (op) => t.ns.closeHandle(f.handle, op.fx));
  t.run(ROOT, (op) => t.ns.setattr(op, f.ino, { size: 0 }));
  assert.equal(t.ns.projects.grant('b', g.ino, 6 * MiB).end, 6.5 * MiB);
  assert.deepEqual(t.ns.projects.grant('b', t.file(ROOT_INO, 'free'), 10 * MiB), { end: null, ttlMs: 1000 });
});

test('rename and link into a directory passing on another project are EXDEV; out of it they keep the ID', () => {
  const a = projectDir('a', 1);
  const b = projectDir('b', 2);
  const f = t.file(a, 'f');
  t.file(b, 'g');
  const mv = (p: number, n: string, np: number, nn: string, flags = 0) =>
    t.errno(ROOT, (op) => t.ns.rename(op, p, n, np, nn, flags));
  assert.equal(mv(a, 'f', b, 'f'), 'EXDEV');
  assert.equal(mv(a, 'f', b, 'g', RENAME_EXCHANGE), 'EXDEV');
  assert.equal(
    t.errno(ROOT, (op) => t.ns.link(op, f, b, 'h')),
    'EXDEV',
  );
  t.file(ROOT_INO, 'plain');
  assert.equal(mv(ROOT_INO, 'plain', a, 'plain'), 'EXDEV', 'project 0 into project 1');
  assert.equal(mv(a, 'f', a, 'f2'), 'OK');
  assert.equal(mv(a, 'f2', ROOT_INO, 'f2'), 'OK');
  assert.equal(t.ns.projects.project(f).projid, 1);
  assert.equal(quota(1).inodeUsage, 2, 'the moved file still counts for project 1');
});

test('changing a project ID takes root and moves the usage; chmod and chown leave it alone', () => {
  const d = t.mkdir(ROOT_INO, 'd', 0o777);
  const f = t.run(ALICE, (op) => t.ns.create(op, d, 'f', 0o644, true, false, 0)).attr.ino;
  assert.equal(grow(f, MiB), 'OK');
  assert.throws(() => t.ns.projects.setProject(ALICE, f, 5, false), { code: 'EPERM' });
  assert.throws(() => t.ns.projects.setProject(ROOT, f, 5, true), { code: 'EINVAL' });
  assert.throws(() => t.ns.projects.setProject(ROOT, f, 2 ** 32, false), { code: 'EINVAL' });
  t.run(ROOT, () => t.ns.projects.setProject(ROOT, f, 5, false));
  assert.deepEqual([quota(5).blockUsageBytes, quota(5).inodeUsage], [MiB, 1]);
  t.run(ROOT, () => t.ns.projects.setProject(ROOT, f, 6, false));
  assert.deepEqual([quota(5).blockUsageBytes, quota(6).blockUsageBytes], [0, MiB]);
  t.run(ROOT, (op) => t.ns.setattr(op, f, { mode: 0o600, uid: 7, gid: 7 }));
  assert.equal(t.ns.projects.project(f).projid, 6);
  t.run(ROOT, () => t.ns.projects.setProject(ROOT, f, 0, false));
  assert.deepEqual([quota(6).blockUsageBytes, quota(6).inodeUsage], [0, 0]);
});

test('statfs of an inherit directory with limits reports the project', () => {
  const d = projectDir('vol', 42, 8 * MiB, 100);
  assert.deepEqual(t.ns.projects.statfsOf(d), {
    projectId: 42,
    blockHardLimitBytes: 8 * MiB,
    inodeHardLimit: 100,
    blockUsageBytes: 0,
    inodeUsage: 1,
  });
  assert.equal(t.ns.projects.statfsOf(ROOT_INO), undefined);
  assert.equal(t.ns.projects.statfsOf(t.file(d, 'f')), undefined);
});

test('usage and limits survive reopening the database', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-quota-'));
  const path = join(dir, 'mdt.db');
  const open = () => {
    const store = new Store(path);
    const ns = new Namespace({
      store,
      clock: Date.now,
      layouts: new LayoutAllocator(1),
      defaultPolicy: DEFAULT_POLICY,
      osts: fourOsts,
    });
    return { store, ns };
  };
  const run = <T>(s: Store, fn: (op: OpContext) => T): T => {
    s.db.exec('BEGIN');
    const out = fn({ cred: ROOT, client: 'c', host: 'node-a', fx: new Effects() });
    s.db.exec('COMMIT');
    return out;
  };
  try {
    const first = open();
    const d = run(first.store, (op) => first.ns.mkdir(op, ROOT_INO, 'vol', 0o755)).ino;
    run(first.store, () => first.ns.projects.setProject(ROOT, d, 9, true));
    run(first.store, () =>
      first.ns.projects.setQuota(9, { blockHardLimitBytes: 4 * MiB, inodeHardLimit: 3 }),
    );
    const f = run(first.store, (op) => first.ns.create(op, d, 'f', 0o644, true, false, 0)).attr.ino;
    run(first.store, (op) => extendSize(first.ns, op, f, 3 * MiB));
    const opened = run(first.store, (op) => first.ns.create(op, d, 'g', 0o644, true, true, 2));
    assert.equal(
      run(first.store, () => first.ns.projects.grant('c', opened.attr.ino, 512 * 1024)).end,
      640 * 1024,
    );
    first.store.close();
    const second = open();
    assert.deepEqual(second.ns.projects.quota(9), {
      blockUsageBytes: 3 * MiB,
      inodeUsage: 3,
      blockHardLimitBytes: 4 * MiB,
      inodeHardLimit: 3,
    });
    assert.deepEqual(second.ns.projects.project(f), { projid: 9, inherit: false });
    assert.throws(
      () => second.ns.projects.grant('other', f, 3 * MiB + 512 * 1024),
      { code: 'EDQUOT' },
      'the grant survived',
    );
    second.store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('open and create tell the writer when no block limit applies; project 0 takes no limits', () => {
  const d = projectDir('vol', 42, 8 * MiB);
  const free = t.mkdir(ROOT_INO, 'free');
  assert.equal(t.ns.projects.unlimited(t.file(d, 'f')), undefined);
  assert.deepEqual(t.ns.projects.unlimited(t.file(free, 'g')), { end: null, ttlMs: 1000 });
  assert.equal(t.ns.projects.unlimited(free), undefined, 'directories take no grants');
  assert.throws(() => t.ns.projects.setQuota(0, { blockHardLimitBytes: 1, inodeHardLimit: 1 }), {
    code: 'EINVAL',
  });
});

test('a grant holds while its client has the file open and goes at its last close', () => {
  const d = projectDir('vol', 42, 8 * MiB);
  const f = t.open(d, 'f', ROOT, 'a');
  const g = t.open(d, 'g', ROOT, 'b');
  assert.equal(t.ns.projects.grant('a', f.ino, 4 * MiB).end, 5 * MiB, 'four and a quarter of the other four');
  t.time += 60_000;
  assert.throws(() => t.ns.projects.grant('b', g.ino, 4 * MiB), { code: 'EDQUOT' }, 'reserved while open');
  assert.equal(grow(f.ino, MiB, 'a'), 'OK');
  t.run(ROOT, (op) => t.ns.closeHandle(f.handle, op.fx));
  assert.equal(
    t.ns.projects.grant('b', g.ino, 4 * MiB).end,
    4.75 * MiB,
    'after the close only the size counts',
  );
});
