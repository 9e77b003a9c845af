// Model-based test: random namespace operations against the MDS and a plain in-memory tree, compared after every step.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROOT, TestNamespace } from '../../../test/lustre/mds-fixtures.ts';
import { RENAME_EXCHANGE, RENAME_NOREPLACE, ROOT_INO, S_IFDIR, S_IFREG } from '../types.ts';

interface MNode {
  ino: number;
  dir: boolean;
  children: Map<string, MNode>;
  parent: MNode | undefined;
  links: number;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ['a', 'b', 'c', 'd'];

class Model {
  readonly root: MNode = { ino: ROOT_INO, dir: true, children: new Map(), parent: undefined, links: 1 };

  nodes(): MNode[] {
    const out: MNode[] = [];
    const seen = new Set<MNode>();
    const walk = (n: MNode) => {
      if (seen.has(n)) return;
      seen.add(n);
      out.push(n);
      for (const c of n.children.values()) walk(c);
    };
    walk(this.root);
    return out;
  }
  dirs(): MNode[] {
    return this.nodes().filter((n) => n.dir);
  }
  nlink(n: MNode): number {
    return n.dir ? 2 + [...n.children.values()].filter((c) => c.dir).length : n.links;
  }
  within(n: MNode, ancestor: MNode): boolean {
    for (let cur: MNode | undefined = n; cur; cur = cur.parent) if (cur === ancestor) return true;
    return false;
  }

  /** The errno the MDS must give for rename, with the same precedence; applies it on success. */
  rename(from: MNode, name: string, to: MNode, newName: string, flags: number): string {
    const s = from.children.get(name);
    if (!s) return 'ENOENT';
    const d = to.children.get(newName);
    const exchange = (flags & RENAME_EXCHANGE) !== 0;
    if (exchange && !d) return 'ENOENT';
    if (d && flags & RENAME_NOREPLACE) return 'EEXIST';
    if (d === s) return 'OK';
    if (s.dir && from !== to && this.within(to, s)) return 'EINVAL';
    if (exchange && d!.dir && from !== to && this.within(from, d!)) return 'EINVAL';
    if (!exchange && d) {
      if (s.dir && !d.dir) return 'ENOTDIR';
      if (s.dir && d.children.size > 0) return 'ENOTEMPTY';
      if (!s.dir && d.dir) return 'EISDIR';
    }
    if (exchange) {
      from.children.set(name, d!);
      to.children.set(newName, s);
      if (s.dir) s.parent = to;
      if (d!.dir) d!.parent = from;
    } else {
      if (d) d.links--;
      from.children.delete(name);
      to.children.set(newName, s);
      if (s.dir) s.parent = to;
    }
    return 'OK';
  }
}

function compare(t: TestNamespace, m: Model, step: string): void {
  const walk = (n: MNode, path: string) => {
    const attr = t.ns.getattr(n.ino);
    assert.equal(attr.nlink, m.nlink(n), `${step}: nlink of ${path}`);
    if (!n.dir) return;
    assert.equal(attr.mode & S_IFDIR, S_IFDIR, `${step}: ${path} is a directory`);
    const listed = t.ns.readdir(ROOT, n.ino, 0, 4096, false);
    assert.equal(listed[1]!.ino, n.parent?.ino ?? ROOT_INO, `${step}: .. of ${path}`);
    const entries = listed.slice(2).map((e) => [e.name, e.ino, e.type] as const);
    const want = [...n.children].map(([k, c]) => [k, c.ino, c.dir ? S_IFDIR : S_IFREG] as const);
    const byName = (a: readonly [string, ...unknown[]], b: readonly [string, ...unknown[]]) =>
      a[0].localeCompare(b[0]);
    assert.deepEqual([...entries].sort(byName), [...want].sort(byName), `${step}: entries of ${path}`);
    for (const [k, c] of n.children) walk(c, `${path}/${k}`);
  };
  walk(m.root, '');
  const live = m.nodes().length;
  assert.equal(t.store.inodeCount(), live, `${step}: no inode leaked or lost`);
}

function step(t: TestNamespace, m: Model, rnd: () => number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const dirs = m.dirs();
  const dir = pick(dirs);
  const name = pick(NAMES);
  const got = (fn: Parameters<TestNamespace['errno']>[1]) => t.errno(ROOT, fn);
  const kind = pick(['mkdir', 'create', 'unlink', 'rmdir', 'rename', 'rename', 'link']);
  const existing = dir.children.get(name);
  let want: string;
  let have: string;
  switch (kind) {
    case 'mkdir':
    case 'create': {
      want = existing ? 'EEXIST' : 'OK';
      let ino = 0;
      have = got((op) => {
        ino =
          kind === 'mkdir'
            ? t.ns.mkdir(op, dir.ino, name, 0o755).ino
            : t.ns.create(op, dir.ino, name, 0o644, true, false, 0).attr.ino;
      });
      if (want === 'OK' && have === 'OK') {
        dir.children.set(name, { ino, dir: kind === 'mkdir', children: new Map(), parent: dir, links: 1 });
      }
      break;
    }
    case 'unlink':
      want = !existing ? 'ENOENT' : existing.dir ? 'EISDIR' : 'OK';
      have = got((op) => t.ns.unlink(op, dir.ino, name));
      if (want === 'OK') {
        existing!.links--;
        dir.children.delete(name);
      }
      break;
    case 'rmdir':
      want = !existing
        ? 'ENOENT'
        : !existing.dir
          ? 'ENOTDIR'
          : existing.children.size > 0
            ? 'ENOTEMPTY'
            : 'OK';
      have = got((op) => t.ns.rmdir(op, dir.ino, name));
      if (want === 'OK') dir.children.delete(name);
      break;
    case 'link': {
      const files = m.nodes().filter((n) => !n.dir);
      if (files.length === 0) return 'skip';
      const f = pick(files);
      want = existing ? 'EEXIST' : 'OK';
      have = got((op) => t.ns.link(op, f.ino, dir.ino, name));
      if (want === 'OK') {
        f.links++;
        dir.children.set(name, f);
      }
      break;
    }
    default: {
      const to = pick(dirs);
      const newName = pick(NAMES);
      const flags = pick([0, 0, 0, RENAME_NOREPLACE, RENAME_EXCHANGE]);
      have = got((op) => t.ns.rename(op, dir.ino, name, to.ino, newName, flags));
      want = m.rename(dir, name, to, newName, flags);
      return `rename(${dir.ino}/${name} -> ${to.ino}/${newName}, ${flags}) = ${have}, want ${want}`;
    }
  }
  return `${kind}(${dir.ino}/${name}) = ${have}, want ${want}`;
}

for (const seed of [1, 2, 3, 4]) {
  test(`random operations agree with the reference tree (seed ${seed})`, () => {
    const t = new TestNamespace();
    const m = new Model();
    const rnd = mulberry32(seed);
    try {
      for (let i = 0; i < 300; i++) {
        const desc = step(t, m, rnd);
        const [have, want] = desc.split(' = ')[1]?.split(', want ') ?? [];
        assert.equal(have, want, `step ${i}: ${desc}`);
        compare(t, m, `step ${i} ${desc}`);
      }
    } finally {
      t.close();
    }
  });
}
