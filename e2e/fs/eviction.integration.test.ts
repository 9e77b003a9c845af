// Cache locks when a party fails: a caching mount that stops answering (SIGSTOP) is evicted and comes back with fresh data; after an MDS restart no writer goes ahead of a mount still caching.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { useFsCluster } from './fs-cluster.ts';
import { hold, sh, shResult, waitFor } from './shell.ts';

const t = useFsCluster({ fsname: 'evict', mounts: [] });

test('a stopped mount holding a read lock is evicted after the callback deadline; resumed, it reconnects and reads what was written', async () => {
  await t.ready;
  const fs = t.cluster;
  const a = await fs.mount('a', { args: ['--cached'] });
  const b = await fs.mount('b', { args: ['--cached'] });
  await sh(`printf 'version 1' > ${a.point}/f`);
  assert.equal(await sh(`cat ${b.point}/f`), 'version 1', 'B reads (and caches) the file under a PR lock');
  process.kill(b.pid, 'SIGSTOP');
  try {
    // A's write needs PW: B is called back, does not answer, and is evicted (10 s), then A goes on.
    const started = Date.now();
    await sh(`printf 'version 2' > ${a.point}/f`, { timeoutMs: 40_000 });
    assert.ok(Date.now() - started >= 5_000, 'the write waited for the callback deadline');
  } finally {
    process.kill(b.pid, 'SIGCONT');
  }
  const mdsLog = await readFile(join(fs.dir, 'logs', 'mds0.log'), 'utf8');
  assert.match(mdsLog, /evicted client/, 'the MDS logged the eviction');
  // Until B has reconnected its calls may fail with EIO; it must never read the old version.
  const seen = new Set<string>();
  await waitFor('B reads version 2', async () => {
    const r = await shResult(`cat ${b.point}/f`);
    seen.add(r.code === 0 ? r.stdout : r.stderr.replace(/^.*: /, '').trim());
    return r.code === 0 && r.stdout === 'version 2';
  });
  assert.ok(
    !seen.has('version 1'),
    `B never served the data it cached before its eviction (saw ${[...seen]})`,
  );
  const bLog = await readFile(join(fs.dir, 'logs', 'mount-b.log'), 'utf8');
  assert.match(bLog, /warn.*evicted by the MDS/, 'B logged its eviction at warn');
  assert.match(bLog, /reconnected to the MDS after an eviction/);
});

test('after kill -9 of the MDS, a write waits until a mount that cached the file (shared mmap) is back and has dropped it', async () => {
  await t.ready;
  const fs = t.cluster;
  const a = await fs.mount('ra', { args: ['--cached'] });
  const b = await fs.mount('rb', { args: ['--cached'] });
  await sh(`printf 'version 1' > ${a.point}/m`);
  // Reads through a shared mapping: page faults, no GETATTR, nothing that would reconnect B.
  const mapped = hold([
    'python3',
    '-c',
    `import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
m = mmap.mmap(fd, 9, mmap.MAP_SHARED, mmap.PROT_READ)
for line in sys.stdin:
    print(m[0:9].decode(), flush=True)`,
    `${b.point}/m`,
  ]);
  try {
    mapped.send('read\n');
    await mapped.waitForLines(1);
    assert.equal(mapped.lines[0], 'version 1');
    await fs.mds.kill9();
    await fs.mds.start();
    await sh(`printf 'version 2' | dd of=${a.point}/m conv=notrunc status=none`, { timeoutMs: 40_000 });
    mapped.send('read\n');
    await mapped.waitForLines(2);
    assert.equal(mapped.lines[1], 'version 2', "B's mapping shows A's write as soon as it returned");
  } finally {
    await mapped.release();
  }
});

test('a --cached mount that is unmounted gives its locks back: the next writer is not held up by an eviction', async () => {
  await t.ready;
  const fs = t.cluster;
  const w = await fs.mount('gone', { args: ['--cached'] });
  const c = await fs.mount('next', { args: ['--cached'] });
  await sh(`printf 'from w' > ${w.point}/handed`);
  await w.unmount();
  const evictions = async () =>
    (await readFile(join(fs.dir, 'logs', 'mds0.log'), 'utf8'))
      .split('\n')
      .filter((l) => /evicted client/.test(l)).length;
  const before = await evictions();
  await sh(`printf 'from c' > ${c.point}/handed`);
  assert.equal(await sh(`cat ${c.point}/handed`), 'from c');
  assert.equal(await evictions(), before, 'no client was evicted for the write to go ahead');
});
