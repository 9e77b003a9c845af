// Crash safety: kill -9 the MDS process under concurrent load; after a restart every acknowledged change is there and the tree is consistent.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ROOT, TestMdsClient } from '../../../test/lustre/mds-fixtures.ts';
import { type Child, startChild } from '../../lib/supervisor.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { ROOT_INO, S_IFDIR } from '../types.ts';

const fixture = fileURLToPath(new URL('../../../test/lustre/mds-process.ts', import.meta.url));
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-mds-crash-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function startServer(graceMs: number): Promise<Child> {
  return startChild({
    name: 'mds',
    command: process.execPath,
    args: [
      fixture,
      JSON.stringify({ dataDir: join(dir, 'data'), destroyLog: join(dir, 'destroyed.jsonl'), graceMs }),
    ],
    logFile: join(dir, 'mds.log'),
    timeoutMs: 20_000,
  });
}

type Tree = Map<string, 'file' | 'dir'>;

/** One worker's sequential operations in its own directory; the model holds what was acknowledged. */
async function worker(
  c: TestMdsClient,
  k: number,
  stop: AbortSignal,
  acked: Tree,
  inflight: { tree?: Tree | undefined },
) {
  // Set-up happens long before the kill (the test waits for 1500 acknowledged paths).
  const top = await c.call('mkdir', {
    xid: c.nextXid(),
    cred: ROOT,
    parent: ROOT_INO,
    name: `w${k}`,
    mode: 0o755,
  });
  const sub = await c.call('mkdir', {
    xid: c.nextXid(),
    cred: ROOT,
    parent: top.ino,
    name: 'sub',
    mode: 0o755,
  });
  acked.set(`w${k}`, 'dir').set(`w${k}/sub`, 'dir');
  const ino = (path: string) => (path.startsWith(`w${k}/sub/`) ? sub.ino : top.ino);
  for (let i = 0; !stop.aborted; i++) {
    const files = [...acked].filter(([, t]) => t === 'file').map(([p]) => p);
    const roll = (i * 7919) % 10;
    const next = new Map(acked);
    let call: () => Promise<unknown>;
    const xid = c.nextXid();
    if (roll < 5 || files.length === 0) {
      const name = `f${i}`;
      next.set(`w${k}/${name}`, 'file');
      call = () =>
        c.call('create', {
          xid,
          cred: ROOT,
          parent: top.ino,
          name,
          mode: 0o644,
          exclusive: true,
          open: false,
          flags: 0,
        });
    } else if (roll < 7) {
      const from = files[i % files.length]!;
      const to = `w${k}/sub/r${i}`;
      next.delete(from);
      next.set(to, 'file');
      const name = from.split('/').at(-1)!;
      call = () =>
        c.call('rename', {
          xid,
          cred: ROOT,
          parent: ino(from),
          name,
          newParent: sub.ino,
          newName: `r${i}`,
          flags: 0,
        });
    } else if (roll < 8) {
      const victim = files[(i * 31) % files.length]!;
      next.delete(victim);
      call = () =>
        c.call('unlink', { xid, cred: ROOT, parent: ino(victim), name: victim.split('/').at(-1)! });
    } else {
      next.set(`w${k}/sub/d${i}`, 'dir');
      call = () => c.call('mkdir', { xid, cred: ROOT, parent: sub.ino, name: `d${i}`, mode: 0o755 });
    }
    inflight.tree = next;
    try {
      await call();
    } catch {
      return; // the server died: this call's outcome is unknown
    }
    acked.clear();
    for (const [p, t] of next) acked.set(p, t);
    inflight.tree = undefined;
  }
}

/** Walks the whole tree; checks link counts, "..", and that every entry resolves. Returns paths and inode count. */
async function walk(c: TestMdsClient): Promise<{ tree: Tree; inodes: Set<number> }> {
  const tree: Tree = new Map();
  const inodes = new Set<number>([ROOT_INO]);
  const links = new Map<number, number>();
  const visit = async (ino: number, path: string, parent: number) => {
    const entries = await c.call('readdir', { cred: ROOT, ino, cookie: 0, limit: 4096, plus: true });
    assert.equal(entries[1]!.ino, parent, `.. of ${path || '/'}`);
    let subdirs = 0;
    for (const e of entries.slice(2)) {
      const p = path ? `${path}/${e.name}` : e.name;
      const attr = await c.call('getattr', { ino: e.ino });
      inodes.add(e.ino);
      links.set(e.ino, (links.get(e.ino) ?? 0) + 1);
      if ((attr.mode & S_IFDIR) === S_IFDIR) {
        subdirs++;
        tree.set(p, 'dir');
        await visit(e.ino, p, ino);
      } else {
        tree.set(p, 'file');
        assert.ok(attr.nlink >= 1, `${p} has a link`);
      }
    }
    assert.equal((await c.call('getattr', { ino })).nlink, 2 + subdirs, `nlink of ${path || '/'}`);
  };
  await visit(ROOT_INO, '', ROOT_INO);
  for (const [ino, n] of links) {
    const attr = await c.call('getattr', { ino });
    if ((attr.mode & S_IFDIR) !== S_IFDIR) assert.equal(attr.nlink, n, `nlink of inode ${ino}`);
  }
  return { tree, inodes };
}

test('acknowledged operations survive kill -9 of the MDS; the tree stays consistent; orphans are destroyed', async () => {
  let server = await startServer(30_000);
  const c = new TestMdsClient(server.ready.address, 'load');
  const orphanClient = new TestMdsClient(server.ready.address, 'orphan-holder');
  const workers = 16;
  const acked: Tree[] = Array.from({ length: workers }, () => new Map());
  const inflight: { tree?: Tree | undefined }[] = Array.from({ length: workers }, () => ({}));
  const stop = new AbortController();
  try {
    const held = await orphanClient.call('create', {
      xid: 1,
      cred: ROOT,
      parent: ROOT_INO,
      name: 'held',
      mode: 0o644,
      exclusive: true,
      open: true,
      flags: 2,
    });
    await orphanClient.call('unlink', { xid: 2, cred: ROOT, parent: ROOT_INO, name: 'held' });
    orphanClient.close();
    const running = acked.map((a, k) => worker(c, k, stop.signal, a, inflight[k]!));
    const deadline = Date.now() + 20_000;
    while (acked.reduce((n, a) => n + a.size, 0) < 1500 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    server.process.kill('SIGKILL');
    await server.exited;
    stop.abort();
    await Promise.all(running);
    c.close();

    server = await startServer(2_000);
    const v = new TestMdsClient(server.ready.address, 'verifier');
    try {
      assert.equal(
        (await v.call('getattr', { ino: held.attr.ino })).nlink,
        0,
        'the open orphan survived the crash',
      );
      const { tree, inodes } = await walk(v);
      let checked = 0;
      for (let k = 0; k < workers; k++) {
        const mine = new Map([...tree].filter(([p]) => p === `w${k}` || p.startsWith(`w${k}/`)));
        const want = JSON.stringify([...acked[k]!].sort());
        const maybe = inflight[k]!.tree ? JSON.stringify([...inflight[k]!.tree!].sort()) : want;
        const have = JSON.stringify([...mine].sort());
        const diff = [...acked[k]!].filter(([p, t]) => mine.get(p) !== t).map(([p]) => p);
        assert.ok(
          have === want || have === maybe,
          `worker ${k}: acknowledged but missing or different: ${diff}`,
        );
        checked += acked[k]!.size;
      }
      assert.ok(checked >= 1000, `checked ${checked} acknowledged paths`);
      await waitFor(
        'the orphan held by a client that never came back is destroyed',
        async () => {
          const text = await readFile(join(dir, 'destroyed.jsonl'), 'utf8').catch(() => '');
          return text.includes(`"${held.attr.ino}.0"`);
        },
        { timeoutMs: 10_000, intervalMs: 20 },
      );
      const after = await v.call('statfs', {});
      assert.equal(after.files - after.ffree, inodes.size, 'inodes in use = inodes reachable (no leak)');
    } finally {
      v.close();
    }
  } finally {
    stop.abort();
    await server.stop(5_000);
  }
});
