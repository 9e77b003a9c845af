// Faults seen through real mounts: an OSS killed with -9 and restarted, the MDS killed with -9 mid-workload, a mount with no MGS.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { type FsCluster, NACRE, useFsCluster } from './fs-cluster.ts';
import { mountedUnder, processesMentioning } from './leftovers.ts';
import { hold, py, run, sh, shResult, waitFor } from './shell.ts';

const MiB = 2 ** 20;
let fs: FsCluster;
let a: string;
let b: string;

const t = useFsCluster({ fsname: 'faults', mounts: ['a', 'b'] });
before(async () => {
  await t.ready;
  fs = t.cluster;
  [a, b] = [t.mounts['a']!, t.mounts['b']!];
});

const sha = async (path: string) => (await sh(`sha256sum < ${path}`)).split(' ')[0]!;

/** Runs a script that must fail with EIO, and within `ms`: a lost OST must not hang the application. */
async function expectEio(script: string, ms = 15_000): Promise<void> {
  const r = await shResult(script, ms + 5_000);
  assert.ok(!r.timedOut && r.ms < ms, `${script} returned within ${ms} ms (took ${r.ms})`);
  assert.notEqual(r.code, 0, `${script} failed`);
  assert.match(r.stderr, /Input\/output error/, `${script}: ${r.stderr}`);
}

/** Unused TCP port on 127.0.0.1 (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// The mount with no MGS fails within seconds; it runs beside the kill -9 tests, which run in order.
describe('faults', { concurrency: true }, () => {
  test('nacre mount to an address where nothing listens fails with a message naming it, not a hang', async () => {
    const port = await freePort();
    const source = `127.0.0.1:${port}@tcp:/faults`;
    const attempt = async (name: string, extra: string[]) => {
      const point = join(fs.dir, name);
      await sh(`mkdir ${point}`);
      const log = ['--log-file', join(fs.dir, 'logs', `${name}.log`)];
      const r = await run([...NACRE, 'mount', ...extra, ...log, source, point], { timeoutMs: 90_000 });
      return { point, r };
    };
    const results = await Promise.all([attempt('nowhere', []), attempt('nowhere-fg', ['--foreground'])]);
    for (const { point, r } of results) {
      const how = `nacre mount ${point}: exit ${r.code}, ${r.ms} ms, stderr ${JSON.stringify(r.stderr)}`;
      assert.ok(!r.timedOut && r.ms < 45_000, `gave up within 45 s: ${how}`);
      assert.notEqual(r.code, 0, how);
      assert.ok(r.stderr.includes(`127.0.0.1:${port}`), `the message names the MGS address: ${how}`);
      assert.match(
        r.stderr,
        /refused|unreachable|cannot reach|no answer|not answer/i,
        `and says why: ${how}`,
      );
      assert.deepEqual(mountedUnder(point), [], 'nothing is left mounted');
      await waitFor('no mount process is left behind', async () => processesMentioning(point).length === 0);
    }
  });

  describe('servers killed with -9', { concurrency: 1 }, () => {
    test('an OSS killed: files with a stripe on it give EIO at once, the rest stay usable; restarted, it serves the same data', async () => {
      await sh(`mkdir ${a}/oss ${a}/oss/wide && ${NACRE.join(' ')} lfs setstripe -c 4 -S 1M ${a}/oss/wide`);
      const wideSrc = await fs.randomFile(8 * MiB);
      await sh(`dd if=${wideSrc.path} of=${a}/oss/wide/f bs=1M status=none`);
      // Eight single-stripe files; the default allocator spreads them over the four OSTs.
      const files: { path: string; sha256: string; ost: number }[] = [];
      for (let i = 0; i < 8; i++) {
        const src = await fs.randomFile(2 * MiB + i);
        const path = `${a}/oss/one${i}`;
        await sh(`dd if=${src.path} of=${path} bs=1M status=none`);
        const objects = await fs.objectsOf(Number(await sh(`stat -c %i ${path}`)));
        assert.equal(objects.length, 1);
        files.push({ path, sha256: src.sha256, ost: objects[0]!.ost });
      }
      const victimOst = 1;
      const onVictim = files.filter((f) => f.ost === victimOst);
      const survivors = files.filter((f) => f.ost !== victimOst);
      assert.ok(onVictim.length > 0 && survivors.length > 0, 'files on the victim OST and on others');
      const victim = fs.ossOf(victimOst);
      assert.equal(fs.osses.filter((s) => s === victim).length, 1);
      const victimAddress = victim.address;

      await victim.kill9();
      await expectEio(`cat ${a}/oss/wide/f > /dev/null`);
      await expectEio(`dd if=${b}/oss/wide/f of=/dev/null bs=1M status=none`);
      for (const f of onVictim) {
        await expectEio(`cat ${f.path} > /dev/null`);
        await expectEio(`dd if=/dev/zero of=${f.path} bs=4k count=1 conv=notrunc status=none`);
      }
      // Metadata does not need the OSS: ls -l of the directory answers, with the right sizes.
      const sizes = await sh(`stat -c %s ${files.map((f) => f.path).join(' ')}`, { timeoutMs: 15_000 });
      assert.deepEqual(
        sizes.trim().split('\n').map(Number),
        files.map((_, i) => 2 * MiB + i),
      );
      for (const f of survivors) {
        assert.equal(await sha(f.path.replace(a, b)), f.sha256, `${f.path} on OST ${f.ost} reads back`);
        const patch = await fs.randomFile(MiB);
        await sh(`dd if=${patch.path} of=${f.path} bs=1M count=1 conv=notrunc status=none`);
        const head = (await sh(`head -c ${MiB} ${f.path.replace(a, b)} | sha256sum`)).split(' ')[0];
        assert.equal(head, patch.sha256, `${f.path} on OST ${f.ost} takes writes`);
        f.sha256 = await sha(f.path);
      }

      await victim.start();
      assert.equal(victim.address, victimAddress, 'restarted on the same port');
      await waitFor(
        'the striped file reads again',
        async () => (await shResult(`cat ${b}/oss/wide/f > /dev/null`)).code === 0,
      );
      assert.equal(await sha(`${b}/oss/wide/f`), wideSrc.sha256, 'the original data, every stripe');
      for (const f of files) assert.equal(await sha(f.path.replace(a, b)), f.sha256, f.path);
    });

    test('the MDS killed mid-workload (twice) and restarted: the workload carries on and everything it saw done is there', async () => {
      await sh(`mkdir ${a}/meta`);
      // Prints step i only after every syscall of step i returned; stops when its stdin closes.
      const workload = hold([
        'python3',
        '-c',
        `import os, sys, threading
d = sys.argv[1]
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
i = 0
while not stop.is_set():
    i += 1
    with open('%s/tmp%d' % (d, i), 'w') as f:
        f.write('content %d\\n' % i)
    os.rename('%s/tmp%d' % (d, i), '%s/file%d' % (d, i))
    if i % 4 == 0:
        os.mkdir('%s/dir%d' % (d, i))
    if i % 5 == 0:
        open('%s/gone%d' % (d, i), 'w').close()
        os.unlink('%s/gone%d' % (d, i))
    print(i, flush=True)`,
        `${a}/meta`,
      ]);
      try {
        // Twice: killed, then restarted on the same data dir and port as soon as it is gone.
        for (let round = 0; round < 2; round++) {
          await workload.waitForLines(workload.lines.length + 100, 60_000);
          await fs.mds.kill9();
          assert.equal(workload.exited, false, 'the MDS died in the middle of the workload');
          await fs.mds.start();
        }
        await workload.waitForLines(workload.lines.length + 100, 60_000);
      } finally {
        const end = await workload.release();
        assert.equal(end.code, 0, `the workload saw no error: ${end.stderr}`);
      }
      const done = workload.lines.map(Number);
      assert.deepEqual(
        done,
        done.map((_, i) => i + 1),
        'steps reported in order',
      );
      const problems = await py(
        `import os, sys
d, last = sys.argv[1], int(sys.argv[2])
names = set(os.listdir(d))
for i in range(1, last + 1):
    p = '%s/file%d' % (d, i)
    if 'file%d' % i not in names:
        print('missing', p)
    elif open(p).read() != 'content %d\\n' % i:
        print('wrong content', p)
    if 'tmp%d' % i in names: print('not renamed', i)
    if i % 4 == 0 and not os.path.isdir('%s/dir%d' % (d, i)): print('missing dir', i)
    if 'gone%d' % i in names: print('not unlinked', i)`,
        [`${b}/meta`, String(done.length)],
      );
      assert.equal(problems, '', `after ${done.length} steps, checked on the other mount`);
    });
  });
});
