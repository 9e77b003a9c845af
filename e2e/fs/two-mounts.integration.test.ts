// Two mounts of one file system, each its own process like two nodes: read-after-write, metadata coherence, flock and fcntl locks.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { type FsCluster, NACRE, useFsCluster } from './fs-cluster.ts';
import { hold, py, RENAME_READER, RENAME_WRITER, sh, shResult, waitFor, waitingOnFuse } from './shell.ts';

let fs: FsCluster;
let a: string;
let b: string;

const t = useFsCluster({ fsname: 'twomnt', mounts: ['a', 'b'] });
before(async () => {
  await t.ready;
  fs = t.cluster;
  [a, b] = [t.mounts['a']!, t.mounts['b']!];
});

test('a write on mount A is read on mount B as soon as it returns, also through a descriptor B keeps open', async () => {
  for (let i = 0; i < 10; i++) {
    assert.equal(await sh(`printf 'round ${i}' > ${a}/shared && cat ${b}/shared`), `round ${i}`);
  }
  // Overwrites inside the file (no size change) and appends, read on B right after.
  await sh(`dd if=/dev/zero of=${a}/inplace bs=4k count=4 status=none`);
  for (const off of [0, 100, 4095, 8192, 16383]) {
    const got = await sh(
      `printf Q | dd of=${a}/inplace bs=1 seek=${off} conv=notrunc status=none && dd if=${b}/inplace bs=1 skip=${off} count=1 status=none`,
    );
    assert.equal(got, 'Q', `byte ${off}`);
  }
  assert.equal(await sh(`printf tail >> ${a}/inplace && stat -c %s ${b}/inplace`), '16388\n');

  // A reader on B holds the file open and re-reads it after each write on A.
  const reader = hold([
    'python3',
    '-c',
    `import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
print('open', flush=True)
for line in sys.stdin:
    print(os.pread(fd, 64, 0).decode(), flush=True)`,
    `${b}/shared`,
  ]);
  try {
    await reader.waitForLine(/^open$/);
    for (let i = 0; i < 5; i++) {
      await sh(`printf 'open-read ${i}' > ${a}/shared`);
      reader.send('read\n');
      await reader.waitForLines(i + 2);
      assert.equal(reader.lines[i + 1], `open-read ${i}`);
    }
  } finally {
    await reader.release();
  }

  const big = await fs.randomFile(24 * 2 ** 20);
  await sh(`mkdir ${a}/wide && ${NACRE.join(' ')} lfs setstripe -c 4 -S 1M ${a}/wide`);
  await sh(`dd if=${big.path} of=${a}/wide/big bs=1M status=none`);
  assert.equal((await sh(`sha256sum < ${b}/wide/big`)).split(' ')[0], big.sha256);
});

test('create, mkdir, rename, chmod, chown, truncate and unlink on A show on B at once', async () => {
  await sh(`mkdir ${a}/meta`);
  for (let i = 0; i < 5; i++) {
    // B looks first, so a cached negative lookup or attribute would show up as a stale answer.
    assert.match((await shResult(`stat ${b}/meta/f${i}`)).stderr, /No such file/);
    await sh(`printf 'content ${i}' > ${a}/meta/f${i}`);
    assert.equal(await sh(`cat ${b}/meta/f${i}`), `content ${i}`);
    assert.equal(await sh(`stat -c %a ${b}/meta/f${i}`), '644\n');

    await sh(`mkdir ${a}/meta/d${i} && chmod 640 ${a}/meta/f${i} && chown 1000:1000 ${a}/meta/f${i}`);
    assert.equal(await sh(`stat -c '%a %u %g' ${b}/meta/f${i}`), '640 1000 1000\n');
    assert.equal(await sh(`stat -c %F ${b}/meta/d${i}`), 'directory\n');

    await sh(`mv ${a}/meta/f${i} ${a}/meta/d${i}/moved`);
    assert.match((await shResult(`cat ${b}/meta/f${i}`)).stderr, /No such file/);
    assert.equal(await sh(`cat ${b}/meta/d${i}/moved`), `content ${i}`);

    await sh(`truncate -s 3 ${a}/meta/d${i}/moved`);
    assert.equal(await sh(`cat ${b}/meta/d${i}/moved`), 'con');

    await sh(`rm ${a}/meta/d${i}/moved`);
    assert.equal(await sh(`ls -A ${b}/meta/d${i}`), '');
    assert.match((await shResult(`stat ${b}/meta/d${i}/moved`)).stderr, /No such file/);
  }
  assert.equal(await sh(`ls ${b}/meta | tr '\\n' ' '`), 'd0 d1 d2 d3 d4 ');
});

test('flock: B cannot take a lock A holds, waits for it, and gets it when A lets go', async () => {
  await sh(`touch ${a}/flocked`);
  const holder = hold(['flock', '-x', `${a}/flocked`, '-c', 'echo held; cat']);
  try {
    await holder.waitForLine(/^held$/);
    const tryX = await shResult(`flock -n -x ${b}/flocked true`);
    assert.equal(tryX.code, 1, 'flock -n -x on B fails while A holds it');
    assert.equal((await shResult(`flock -n -s ${b}/flocked true`)).code, 1, 'so does a shared lock');
    const waiter = hold(['flock', '-x', `${b}/flocked`, '-c', 'echo got; cat']);
    try {
      await waitFor('flock on B blocks in the file system', () => waitingOnFuse(waiter.pid));
      assert.equal(waiter.lines.length, 0);
      await holder.release();
      await waiter.waitForLine(/^got$/);
      assert.equal((await shResult(`flock -n -x ${a}/flocked true`)).code, 1, 'now A is the one refused');
    } finally {
      await waiter.release();
    }
  } finally {
    await holder.release();
  }
  // Shared locks coexist across mounts.
  const reader = hold(['flock', '-s', `${a}/flocked`, '-c', 'echo held; cat']);
  try {
    await reader.waitForLine(/^held$/);
    assert.equal((await shResult(`flock -n -s ${b}/flocked true`)).code, 0);
    assert.equal((await shResult(`flock -n -x ${b}/flocked true`)).code, 1);
  } finally {
    await reader.release();
  }
  await waitFor(
    'the lock is free once every holder is gone',
    async () => (await shResult(`flock -n -x ${b}/flocked true`)).code === 0,
  );
});

/** Python on mount B: F_SETLK attempts and F_GETLK, one result per line. */
const PROBE = `
import errno, fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
FMT = 'hhqqi'
def setlk(kind, start, length):
    try:
        fcntl.fcntl(fd, fcntl.F_SETLK, struct.pack(FMT, kind, 0, start, length, 0))
        return 'ok'
    except OSError as e:
        return errno.errorcode[e.errno]
def getlk(kind, start, length):
    t, _, s, l, pid = struct.unpack(FMT, fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack(FMT, kind, 0, start, length, 0)))
    return 'unlocked' if t == fcntl.F_UNLCK else '%s %d %d %d' % ({fcntl.F_WRLCK: 'W', fcntl.F_RDLCK: 'R'}[t], s, l, pid)
W, R = fcntl.F_WRLCK, fcntl.F_RDLCK
`;

test('fcntl byte-range locks across mounts: conflicts refused, disjoint ranges granted, F_GETLK names the holder', async () => {
  await sh(`dd if=/dev/zero of=${a}/ranges bs=4k count=1 status=none`);
  // On A: a write lock on bytes 0-99 and a read lock on 1000-1099, held until stdin closes.
  const holder = hold([
    'python3',
    '-c',
    `import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.fcntl(fd, fcntl.F_SETLK, struct.pack('hhqqi', fcntl.F_WRLCK, 0, 0, 100, 0))
fcntl.fcntl(fd, fcntl.F_SETLK, struct.pack('hhqqi', fcntl.F_RDLCK, 0, 1000, 100, 0))
print('held', os.getpid(), flush=True)
sys.stdin.read()`,
    `${a}/ranges`,
  ]);
  try {
    const pid = (await holder.waitForLine(/^held \d+$/)).split(' ')[1];
    const out = await py(
      `${PROBE}
print(setlk(W, 50, 10), setlk(R, 99, 1), setlk(W, 1050, 10))
print(setlk(W, 100, 10), setlk(R, 1050, 10), setlk(W, 2000, 0))
print(getlk(W, 10, 10))
print(getlk(W, 1010, 5))
print(getlk(R, 1010, 5))`,
      [`${b}/ranges`],
    );
    const lines = out.trim().split('\n');
    assert.match(
      lines[0]!,
      /^(EAGAIN|EACCES) (EAGAIN|EACCES) (EAGAIN|EACCES)$/,
      'conflicting ranges refused',
    );
    assert.equal(lines[1], 'ok ok ok', 'adjacent, shared and disjoint ranges granted');
    assert.equal(lines[2], `W 0 100 ${pid}`, 'F_GETLK reports the write lock held on A, with its pid');
    assert.equal(lines[3], `R 1000 100 ${pid}`, 'and the read lock');
    assert.equal(lines[4], 'unlocked', 'a read lock does not conflict with a read lock');

    // A blocking F_SETLKW on B waits for A's lock and gets it when A's process dies.
    const waiter = hold([
      'python3',
      '-c',
      `import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.fcntl(fd, fcntl.F_SETLKW, struct.pack('hhqqi', fcntl.F_WRLCK, 0, 0, 10, 0))
print('got', flush=True)
sys.stdin.read()`,
      `${b}/ranges`,
    ]);
    try {
      await waitFor('F_SETLKW on B blocks in the file system', () => waitingOnFuse(waiter.pid));
      assert.equal(waiter.lines.length, 0);
      await holder.kill();
      await waiter.waitForLine(/^got$/);
    } finally {
      await waiter.release();
    }
  } finally {
    await holder.release();
  }
  const after = await py(`${PROBE}\nprint(setlk(W, 0, 0), getlk(W, 0, 0))`, [`${a}/ranges`]);
  assert.equal(after, 'ok unlocked\n', 'no lock outlives its holders');
});

test('a file replaced with rename on A is never missing or torn for a reader on B', async () => {
  await sh(`mkdir ${a}/replace && printf 'version 0' > ${a}/replace/current`);
  const [, reader] = await Promise.all([
    py(RENAME_WRITER, [`${a}/replace`, '300']),
    py(RENAME_READER, [`${b}/replace`]),
  ]);
  const [reads, ...failures] = reader.trim().split('\n');
  assert.ok(Number(reads!.split('=')[1]) >= 50, `the reader overlapped the renames (${reads})`);
  assert.deepEqual(failures, [], `open/read on B of the name A replaces failed (${reads})`);
});

test('O_APPEND writers on both mounts at once: every line lands, none overwritten', async () => {
  await sh(`touch ${a}/shared.log`);
  const appender = (mount: string, tag: string) =>
    py(
      `import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
for i in range(300):
    os.write(fd, ('%s %05d ................\\n' % (sys.argv[2], i)).encode())`,
      [`${mount}/shared.log`, tag],
    );
  await Promise.all([appender(a, 'A'), appender(b, 'B')]);
  const lines = (await sh(`cat ${b}/shared.log`)).trim().split('\n');
  for (const tag of ['A', 'B']) {
    const mine = lines.filter((l) => l.startsWith(`${tag} `)).length;
    assert.equal(mine, 300, `lines appended on mount ${tag} that survived (file has ${lines.length} lines)`);
  }
  assert.equal(lines.length, 600);
});
