// Coherence of cached names and attributes on two mounts in separate processes: sizes of a file being written, link counts, negative entries, directory moves, and a stopped mount holding a LOOKUP lock.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { type FsCluster, useFsCluster } from './fs-cluster.ts';
import { hold, sh, shResult, waitFor } from './shell.ts';

const WRITER = `import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
print('open', flush=True)
for line in sys.stdin:
    if line.strip() == 'close':
        os.close(fd); print('closed', flush=True)
    else:
        off, n = line.split(); os.pwrite(fd, b'w' * int(n), int(off)); print('ok', flush=True)`;

/** Registers the metadata coherence tests on a cluster whose mounts A and B get `mountArgs`. */
export function metaCoherenceTests(fsname: string, mountArgs: string[]): void {
  let fs: FsCluster;
  let a: string;
  let b: string;
  const t = useFsCluster({ fsname, mounts: ['a', 'b'], mountArgs });
  before(async () => {
    await t.ready;
    fs = t.cluster;
    [a, b] = [t.mounts['a']!, t.mounts['b']!];
  });
  const size = async (p: string) => Number(await sh(`stat -c %s ${p}`));

  test("B's stat shows the size of a file A is writing through a descriptor it keeps open, and the size A closed it at", async () => {
    await sh(`printf 0123456789 > ${a}/growing`);
    assert.equal(await size(`${b}/growing`), 10, 'B has the attributes');
    assert.equal(await size(`${b}/growing`), 10);
    const w = hold(['python3', '-c', WRITER, `${a}/growing`]);
    try {
      await w.waitForLine(/^open$/);
      for (const [i, end] of [5000, 70_000, 1_048_600].entries()) {
        w.send(`${end - 100} 100\n`);
        await w.waitForLines(2 + i);
        assert.equal(await size(`${b}/growing`), end, `B sees the size after A's write ${i}`);
      }
      w.send('close\n');
      await w.waitForLine(/^closed$/);
      assert.equal(await size(`${b}/growing`), 1_048_600, 'and after A closed it');
      assert.equal(await size(`${b}/growing`), 1_048_600);
    } finally {
      await w.release();
    }
  });

  test("link counts and a directory's entries change on A; B's stat and ls show it at once", async () => {
    await sh(`mkdir ${a}/links && printf x > ${a}/links/f`);
    assert.equal(await sh(`stat -c %h ${b}/links/f ${b}/links`), '1\n2\n');
    await sh(`ln ${a}/links/f ${a}/links/g && mkdir ${a}/links/sub`);
    assert.equal(await sh(`stat -c %h ${b}/links/f ${b}/links/g ${b}/links`), '2\n2\n3\n');
    await sh(`rm ${a}/links/g && rmdir ${a}/links/sub`);
    assert.equal(await sh(`stat -c %h ${b}/links/f ${b}/links`), '1\n2\n');
    assert.match((await shResult(`stat ${b}/links/g`)).stderr, /No such file/);
    assert.equal(await sh(`ls ${b}/links`), 'f\n');
  });

  test('a name B found absent becomes a directory, then a symlink, on A: B sees each at once', async () => {
    await sh(`mkdir ${a}/neg`);
    for (let i = 0; i < 3; i++) {
      assert.match((await shResult(`stat ${b}/neg/x`)).stderr, /No such file/);
      assert.match((await shResult(`stat ${b}/neg/x`)).stderr, /No such file/, 'absent twice (cached)');
      await sh(`mkdir ${a}/neg/x`);
      assert.equal(await sh(`stat -c %F ${b}/neg/x`), 'directory\n');
      await sh(`rmdir ${a}/neg/x && ln -s target${i} ${a}/neg/x`);
      assert.equal(await sh(`readlink ${b}/neg/x`), `target${i}\n`);
      await sh(`rm ${a}/neg/x`);
    }
  });

  test('a directory moved on A between two directories: B finds its files under the new path only', async () => {
    await sh(`mkdir -p ${a}/d1/sub ${a}/d2 && printf moved > ${a}/d1/sub/f`);
    assert.equal(await sh(`cat ${b}/d1/sub/f`), 'moved');
    assert.match((await shResult(`cat ${b}/d2/sub/f`)).stderr, /No such file/);
    await sh(`mv ${a}/d1/sub ${a}/d2/sub`);
    assert.match((await shResult(`cat ${b}/d1/sub/f`)).stderr, /No such file/, 'old path gone on B');
    assert.equal(await sh(`cat ${b}/d2/sub/f`), 'moved');
  });

  test("utimes and a truncate on A reach B's stat, which had the old attributes", async () => {
    await sh(`printf 12345678 > ${a}/times`);
    assert.equal(await sh(`stat -c '%s %Y' ${b}/times`).then((s) => s.split(' ')[0]), '8');
    await sh(`truncate -s 3 ${a}/times && touch -m -d @1000000000 ${a}/times`);
    assert.equal(await sh(`stat -c '%s %Y' ${b}/times`), '3 1000000000\n');
  });

  test("what B learnt from ls -l (readdirplus) follows A's chmod, rename and unlink at once", async () => {
    await sh(
      `mkdir ${a}/listed && printf 1 > ${a}/listed/f && printf 2 > ${a}/listed/g && printf 3 > ${a}/listed/k`,
    );
    await sh(`ls -l ${b}/listed > /dev/null`);
    assert.equal(await sh(`stat -c %a ${b}/listed/f`), '644\n');
    await sh(`chmod 600 ${a}/listed/f && mv ${a}/listed/g ${a}/listed/h && rm ${a}/listed/k`);
    assert.equal(await sh(`stat -c %a ${b}/listed/f`), '600\n');
    assert.match((await shResult(`stat ${b}/listed/g`)).stderr, /No such file/);
    assert.match((await shResult(`stat ${b}/listed/k`)).stderr, /No such file/);
    assert.equal(await sh(`cat ${b}/listed/h`), '2');
    assert.equal(await sh(`ls ${b}/listed`), 'f\nh\n');
  });

  test('a stopped mount holding a LOOKUP lock holds up a create in that directory at most until it is evicted; resumed, it sees the file', async () => {
    const c = await fs.mount('c', { args: mountArgs });
    await sh(`mkdir ${a}/held`);
    assert.match((await shResult(`stat ${c.point}/held/new`)).stderr, /No such file/, 'C caches the absence');
    process.kill(c.pid, 'SIGSTOP');
    let waited = 0;
    try {
      const started = Date.now();
      await sh(`printf new > ${a}/held/new`, { timeoutMs: 30_000 });
      waited = Date.now() - started;
    } finally {
      process.kill(c.pid, 'SIGCONT');
    }
    assert.ok(waited < 15_000, `the create waited ${waited} ms, less than the eviction deadline and some`);
    const mdsLog = await readFile(join(fs.dir, 'logs', 'mds0.log'), 'utf8');
    assert.match(mdsLog, /evicted client/, 'the MDS evicted the stopped mount');
    const seen = new Set<string>();
    await waitFor('C reads the new file', async () => {
      const r = await shResult(`cat ${c.point}/held/new`);
      seen.add(r.code === 0 ? r.stdout : r.stderr.replace(/^.*: /, '').trim());
      return r.code === 0 && r.stdout === 'new';
    });
    assert.ok(
      !seen.has('No such file or directory'),
      `C never answered from its stale absence (saw ${[...seen]})`,
    );
  });
}
