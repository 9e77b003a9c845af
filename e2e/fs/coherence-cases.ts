// The coherence tests any client caching must pass, on two mounts in separate processes: data, names, attributes, appends, shared mmap, a killed writer.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { type FsCluster, useFsCluster } from './fs-cluster.ts';
import { type Held, hold, py, sh, shResult } from './shell.ts';

/**
 * A process that keeps `path` open and runs one command per stdin line: `r <off> <len>` prints
 * what pread returns on a read-only descriptor, `w <off> <text>` pwrites on a read-write one and
 * prints `ok`. Kept open, the read-only descriptor is what a cache would serve stale data through
 * (a caching mount does direct I/O on handles open for writing).
 */
const AGENT = `import os, sys
rfd = os.open(sys.argv[1], os.O_RDONLY)
wfd = os.open(sys.argv[1], os.O_RDWR)
print('open', flush=True)
for line in sys.stdin:
    op, off, arg = line.split()
    if op == 'r':
        print(os.pread(rfd, int(arg), int(off)).decode() or '<eof>', flush=True)
    else:
        os.pwrite(wfd, arg.encode(), int(off))
        print('ok', flush=True)`;

async function agent(path: string): Promise<Held> {
  const h = hold(['python3', '-c', AGENT, path]);
  await h.waitForLine(/^open$/);
  return h;
}

async function ask(h: Held, command: string): Promise<string> {
  const n = h.lines.length;
  h.send(`${command}\n`);
  await h.waitForLines(n + 1);
  return h.lines[n]!;
}

/** Writes 4 KiB records `%08d` × 512 forever, fsyncing (and printing `synced <bytes>`) after the first 8 batches of 16. */
const KILLED_WRITER = `import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
i = 0
for batch in range(8):
    for _ in range(16):
        os.write(fd, (b'%08d' % i) * 512); i += 1
    os.fsync(fd)
    print('synced', i * 4096, flush=True)
while True:
    os.write(fd, (b'%08d' % i) * 512); i += 1
    if i % 32 == 0: print('wrote', i * 4096, flush=True)`;

/**
 * Registers the coherence tests on a cluster whose mounts A and B (and a writer W) get `mountArgs`,
 * or A (and W) `mountArgs.a` and B `mountArgs.b`.
 */
export function coherenceTests(fsname: string, args: string[] | { a: string[]; b: string[] }): void {
  let fs: FsCluster;
  let a: string;
  let b: string;
  const mountArgsOf = Array.isArray(args) ? { a: args, b: args } : args;
  const mountArgs = mountArgsOf.a;
  const t = useFsCluster({ fsname, mounts: ['a', 'b'], mountArgsOf });
  before(async () => {
    await t.ready;
    fs = t.cluster;
    [a, b] = [t.mounts['a']!, t.mounts['b']!];
  });

  test('an overwrite in the middle of a file on A is read at once on B through a descriptor B keeps open, and the reverse', async () => {
    await py(`open(__import__('sys').argv[1], 'wb').write(b'.' * 262144)`, [`${a}/mid`]);
    const [onA, onB] = [await agent(`${a}/mid`), await agent(`${b}/mid`)];
    try {
      for (const [i, off] of [100_000, 4095, 131_072, 262_140].entries()) {
        // Both sides read first, so each has the old bytes in whatever it caches.
        assert.equal(await ask(onB, `r ${off} 4`), '....');
        assert.equal(await ask(onA, `r ${off} 4`), '....');
        assert.equal(await ask(onA, `w ${off} A${i}a${i}`), 'ok');
        assert.equal(await ask(onB, `r ${off} 4`), `A${i}a${i}`, `B reads A's overwrite at ${off}`);
        assert.equal(await ask(onB, `w ${off} B${i}b${i}`), 'ok');
        assert.equal(await ask(onA, `r ${off} 4`), `B${i}b${i}`, `A reads B's overwrite at ${off}`);
        assert.equal(await sh(`dd if=${b}/mid bs=1 skip=${off} count=4 status=none`), `B${i}b${i}`);
        assert.equal(await ask(onA, `w ${off} ....`), 'ok');
      }
      assert.equal(await sh(`stat -c %s ${b}/mid`), '262144\n', 'no overwrite changed the size');
    } finally {
      await onA.release();
      await onB.release();
    }
  });

  test('a truncate and a regrowth on A are seen at once by a reader on B that keeps the file open', async () => {
    await py(`open(__import__('sys').argv[1], 'wb').write(b'x' * 8192)`, [`${a}/shrink`]);
    const onB = await agent(`${b}/shrink`);
    try {
      assert.equal((await ask(onB, 'r 0 9000')).length, 8192);
      await sh(`truncate -s 100 ${a}/shrink`);
      assert.equal((await ask(onB, 'r 0 9000')).length, 100, 'B reads the shorter file');
      assert.equal(await ask(onB, 'r 4000 10'), '<eof>', 'nothing past the new end');
      await sh(`printf 'tail' | dd of=${a}/shrink bs=1 seek=6000 conv=notrunc status=none`);
      const got = await ask(onB, 'r 5998 10');
      assert.equal(got, '\0\0tail', 'B reads the hole and the bytes A wrote past the old end');
    } finally {
      await onB.release();
    }
  });

  test('create, unlink and rename on A are seen at once on B: no stale negative or positive name', async () => {
    await sh(`mkdir ${a}/names`);
    for (let i = 0; i < 4; i++) {
      assert.match((await shResult(`stat ${b}/names/n${i}`)).stderr, /No such file/, 'B looks up first');
      await sh(`printf 'v${i}' > ${a}/names/n${i}`);
      assert.equal(await sh(`cat ${b}/names/n${i}`), `v${i}`, 'no stale negative entry on B');
      await sh(`mv ${a}/names/n${i} ${a}/names/m${i}`);
      assert.match((await shResult(`stat ${b}/names/n${i}`)).stderr, /No such file/, 'old name gone on B');
      assert.equal(await sh(`cat ${b}/names/m${i}`), `v${i}`);
      await sh(`printf 'w${i}' > ${a}/names/n${i} && mv ${a}/names/n${i} ${a}/names/m${i}`);
      assert.equal(
        await sh(`cat ${b}/names/m${i}`),
        `w${i}`,
        'a rename over a name B knows shows the new file',
      );
      await sh(`rm ${a}/names/m${i}`);
      assert.match(
        (await shResult(`cat ${b}/names/m${i}`)).stderr,
        /No such file/,
        'no stale positive entry',
      );
    }
    assert.equal(await sh(`ls -A ${b}/names`), '');
  });

  test("chmod and chown on A are seen by B's stat at once", async () => {
    await sh(`printf x > ${a}/owned`);
    for (const [mode, uid] of [
      ['600', 1000],
      ['755', 1001],
      ['640', 0],
    ] as const) {
      await sh(`stat ${b}/owned > /dev/null`); // B has the old attributes
      await sh(`chmod ${mode} ${a}/owned && chown ${uid}:${uid} ${a}/owned`);
      assert.equal(await sh(`stat -c '%a %u %g' ${b}/owned`), `${mode} ${uid} ${uid}\n`);
    }
  });

  test('O_APPEND writers on both mounts at once, with the file cached on both: every record lands whole', async () => {
    await sh(`printf 'head\\n' > ${a}/race.log && cat ${a}/race.log ${b}/race.log > /dev/null`);
    const appender = (mount: string, tag: string) =>
      py(
        `import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
for i in range(200):
    os.write(fd, ('%s %05d ................\\n' % (sys.argv[2], i)).encode())`,
        [`${mount}/race.log`, tag],
      );
    await Promise.all([appender(a, 'A'), appender(b, 'B')]);
    for (const m of [a, b]) {
      const lines = (await sh(`cat ${m}/race.log`)).trim().split('\n');
      assert.equal(lines.length, 401, `lines read on ${m === a ? 'A' : 'B'}`);
      for (const tag of ['A', 'B']) {
        const mine = lines.filter((l) => new RegExp(`^${tag} \\d{5} \\.{16}$`).test(l)).length;
        assert.equal(mine, 200, `whole records appended on mount ${tag}`);
      }
    }
  });

  test('a shared writable mmap on A is read on B after msync', async () => {
    await py(`open(__import__('sys').argv[1], 'wb').write(b'-' * 65536)`, [`${a}/mapped`]);
    const onB = await agent(`${b}/mapped`);
    const mapper = hold([
      'python3',
      '-c',
      `import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 65536, mmap.MAP_SHARED)
print('mapped', flush=True)
for line in sys.stdin:
    off, text = line.split()
    m[int(off):int(off) + len(text)] = text.encode()
    m.flush()
    print('synced', flush=True)`,
      `${a}/mapped`,
    ]);
    try {
      await mapper.waitForLine(/^mapped$/);
      for (const [i, off] of [0, 5000, 65532].entries()) {
        assert.equal(await ask(onB, `r ${off} 4`), '----', 'B has the old bytes first');
        assert.equal(await ask(mapper, `${off} M${i}m${i}`), 'synced');
        assert.equal(await ask(onB, `r ${off} 4`), `M${i}m${i}`, `B reads the msync'ed page at ${off}`);
      }
    } finally {
      await mapper.release();
      await onB.release();
    }
  });

  test('a writer whose mount daemon is killed (kill -9): every fsync-acknowledged byte survives, nothing torn beyond', async () => {
    const w = await fs.mount('w', { args: mountArgs });
    const writer = hold(['python3', '-c', KILLED_WRITER, `${w.point}/killed`]);
    let synced = 0;
    try {
      synced = Number((await writer.waitForLine(/^synced 524288$/, 60_000)).split(' ')[1]);
      await writer.waitForLine(/^wrote \d+$/, 60_000);
      process.kill(w.pid, 'SIGKILL');
    } finally {
      await writer.kill();
      await w.unmount();
    }
    const got = await py(
      `import sys
data = open(sys.argv[1], 'rb').read()
print(len(data))
bad = next((i for i in range(0, len(data), 4096) if data[i:i + 4096] != ((b'%08d' % (i // 4096)) * 512)[:len(data) - i]), -1)
print(bad)`,
      [`${b}/killed`],
    );
    const [size, firstBad] = got.trim().split('\n').map(Number);
    assert.ok(size! >= synced, `size ${size} on B holds the ${synced} bytes fsync acknowledged`);
    assert.equal(
      firstBad,
      -1,
      `every record read on B is the one written there (first wrong at ${firstBad})`,
    );
  });
}
