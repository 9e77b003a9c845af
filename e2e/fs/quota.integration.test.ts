// Project quotas through real FUSE mounts of the real servers: lfs project/setquota/quota, EDQUOT, df, restarts, EXDEV.
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { type FsCluster, NACRE, startFsCluster } from './fs-cluster.ts';
import { py, sh, shResult, waitFor } from './shell.ts';

const MiB = 2 ** 20;
let fs: FsCluster;
let m: string;

before(async () => {
  fs = await startFsCluster({ fsname: 'quota' });
  m = (await fs.mount('a')).point;
});
after(() => fs?.stop());

const lfs = (args: string) => sh(`${NACRE.join(' ')} lfs ${args}`);

/** kbytes and files used, and their limits, from `lfs quota -p`. */
async function quota(id: number): Promise<{ kbytes: number; kLimit: number; files: number; fLimit: number }> {
  const out = await lfs(`quota -p ${id} ${m}`);
  assert.match(
    out,
    new RegExp(
      `^Disk quotas for prj ${id} \\(pid ${id}\\):\\n\\s+Filesystem\\s+kbytes\\s+quota\\s+limit\\s+grace\\s+files`,
    ),
  );
  const row = out.trim().split('\n')[2]!.trim().split(/\s+/);
  const n = (s: string | undefined) => Number(String(s).replace('*', ''));
  return { kbytes: n(row[1]), kLimit: n(row[3]), files: n(row[5]), fLimit: n(row[7]) };
}

/** `df -B1` of a path: size and used bytes, inodes and used inodes. */
async function df(path: string): Promise<{ size: number; used: number; inodes: number; iused: number }> {
  const [size, used] = (await sh(`df -B1 --output=size,used ${path} | tail -1`))
    .trim()
    .split(/\s+/)
    .map(Number);
  const [inodes, iused] = (await sh(`df --output=itotal,iused ${path} | tail -1`))
    .trim()
    .split(/\s+/)
    .map(Number);
  return { size: size!, used: used!, inodes: inodes!, iused: iused! };
}

test('lfs project -p 42 -s and setquota -B 8M -I 100: dd stops with EDQUOT at 8 MiB, df on the directory shows the quota', async () => {
  await sh(`mkdir -p ${m}/vol/sub && touch ${m}/vol/sub/old`);
  await lfs(`project -p 42 -s -r ${m}/vol`);
  assert.match(await lfs(`project -d ${m}/vol`), /^\s+42 P .*\/vol$/m);
  assert.match(await lfs(`project -r ${m}/vol`), /^\s+42 - .*\/vol\/sub\/old$/m);
  await lfs(`setquota -p 42 -B 8M -I 100 ${m}`);
  assert.deepEqual(await quota(42), { kbytes: 0, kLimit: 8192, files: 3, fLimit: 100 });

  const r = await shResult(`dd if=/dev/zero of=${m}/vol/big bs=1M count=16`);
  assert.notEqual(r.code, 0, 'dd must fail');
  assert.match(r.stderr, /Disk quota exceeded/);
  const { size, ino } = await stat(`${m}/vol/big`);
  assert.ok(size >= 7 * MiB && size <= 8 * MiB, `dd stopped within one stripe of 8 MiB (size ${size})`);
  const onDisk = await Promise.all((await fs.objectsOf(ino)).map(async (o) => (await stat(o.path)).size));
  assert.equal(
    onDisk.reduce((a, b) => a + b, 0),
    size,
    'the refused write never reached the OSTs: the objects hold exactly the file',
  );
  const q = await quota(42);
  assert.ok(q.kbytes <= 8192, `usage ${q.kbytes} KiB is within the limit`);
  assert.equal(q.kbytes, size / 1024);

  const d = await df(`${m}/vol`);
  assert.equal(d.size, 8 * MiB, 'df inside the project directory shows the quota as the size');
  assert.equal(d.used, q.kbytes * 1024);
  assert.deepEqual([d.inodes, d.iused], [100, 4]);
  assert.ok((await df(m)).size > 1024 * MiB, 'df of the mount still shows the whole file system');

  assert.match(
    await shResult(`truncate -s 9M ${m}/vol/sub/old`).then((x) => x.stderr),
    /Disk quota exceeded/,
  );
  await sh(`rm ${m}/vol/big`);
  assert.equal((await quota(42)).kbytes, 0, 'deleting the file freed its blocks');
  await sh(`dd if=/dev/zero of=${m}/vol/again bs=1M count=6 status=none`);
  assert.equal((await quota(42)).kbytes, 6 * 1024);
  await sh(`rm ${m}/vol/again`);
});

test('creating past the inode limit fails with EDQUOT; deleting frees inodes', async () => {
  const before = (await quota(42)).files;
  const out = await sh(
    `cd ${m}/vol && n=0; while [ $n -lt 200 ] && touch f$n 2>${fs.dir}/touch.err; do n=$((n+1)); done; echo $n; cat ${fs.dir}/touch.err`,
    { timeoutMs: 120_000 },
  );
  const [made, ...err] = out.trim().split('\n');
  assert.equal(Number(made), 100 - before, 'files up to the limit, not one more');
  assert.match(err.join('\n'), /Disk quota exceeded/);
  assert.match((await shResult(`mkdir ${m}/vol/d`)).stderr, /Disk quota exceeded/);
  await sh(`rm ${m}/vol/f*`);
  assert.equal((await quota(42)).files, before);
});

test('rename into the project directory is EXDEV (mv copies, the copy is charged); chmod and chown keep the ID', async () => {
  await sh(`dd if=/dev/zero of=${m}/outside bs=1M count=2 status=none`);
  const code = await py(
    'import os,sys\ntry:\n  os.rename(sys.argv[1], sys.argv[2]); print("ok")\nexcept OSError as e: print(e.errno)',
    [`${m}/outside`, `${m}/vol/inside`],
  );
  assert.equal(code.trim(), '18', 'EXDEV');
  const before = await quota(42);
  await sh(`mv ${m}/outside ${m}/vol/inside && chmod 600 ${m}/vol/inside && chown 1000:1000 ${m}/vol/inside`);
  assert.match(await lfs(`project ${m}/vol/inside`), /^\s+42 - /m);
  const afterMv = await quota(42);
  assert.deepEqual([afterMv.kbytes - before.kbytes, afterMv.files - before.files], [2048, 1]);
  await sh(`rm ${m}/vol/inside`);
});

test('lfs project -s alone passes the own ID on, -C clears it; bad input is refused and changes nothing', async () => {
  await sh(`mkdir ${m}/p50`);
  await lfs(`project -p 50 ${m}/p50`);
  assert.match(await lfs(`project -d ${m}/p50`), /^\s+50 - /m);
  await lfs(`project -s ${m}/p50`);
  assert.match(await lfs(`project -d ${m}/p50`), /^\s+50 P /m);
  await sh(`touch ${m}/p50/f`);
  assert.match(await lfs(`project ${m}/p50`), /^\s+50 - .*\/p50\/f$/m);
  for (const bad of ['-p x', '-p 4294967295', '-C -p 3']) {
    const r = await shResult(`${NACRE.join(' ')} lfs project ${bad} ${m}/p50`);
    assert.notEqual(r.code, 0, `lfs project ${bad} is refused`);
  }
  const setq = await shResult(`${NACRE.join(' ')} lfs setquota -p 0 -B 1M ${m}`);
  assert.match(setq.stderr, /project 0 takes no limits/);
  assert.match(await lfs(`project -d ${m}/p50`), /^\s+50 P /m);
  await lfs(`project -C -r ${m}/p50`);
  assert.match(await lfs(`project -r -d ${m}/p50`), /^\s+0 - /m);
  assert.match(await lfs(`project ${m}/p50`), /^\s+0 - .*\/p50\/f$/m);
  await sh(`rm -r ${m}/p50`);
});

test('usage is the same after the MDS is killed with -9 and every server restarts; the mount keeps working', async () => {
  await sh(`dd if=/dev/zero of=${m}/vol/keep bs=1M count=3 status=none && touch ${m}/vol/k1 ${m}/vol/k2`);
  const before = await quota(42);
  await fs.mds.kill9();
  await fs.mds.start();
  await Promise.all(fs.osses.map((o) => o.stop()));
  await Promise.all(fs.osses.map((o) => o.start()));
  assert.deepEqual(await quota(42), before);
  assert.equal((await df(`${m}/vol`)).size, 8 * MiB);
  const r = await shResult(`dd if=/dev/zero of=${m}/vol/more bs=1M count=16`);
  assert.match(r.stderr, /Disk quota exceeded/);
  const q = await quota(42);
  assert.ok(q.kbytes <= 8192 && q.kbytes >= 7 * 1024, `filled to the limit after restarts (${q.kbytes} KiB)`);
  await sh(`rm ${m}/vol/keep ${m}/vol/more ${m}/vol/k1 ${m}/vol/k2`);
  assert.equal((await quota(42)).kbytes, 0);
});

test('a kill -9 of the MDS in the middle of creates and writes leaves usage equal to what the files hold', async () => {
  const before = await quota(42);
  const writer = shResult(
    `cd ${m}/vol && for i in $(seq 1 50); do dd if=/dev/zero of=c$i bs=64k count=2 status=none || exit 1; done`,
    180_000,
  );
  await waitFor('the writer to be under way', async () => (await sh(`ls ${m}/vol`)).includes('c8'));
  await fs.mds.kill9();
  await fs.mds.start();
  const r = await writer;
  assert.equal(r.code, 0, `the writer rode through the MDS restart: ${r.stderr}`);
  const sizes = (await sh(`stat -c %s ${m}/vol/c*`)).trim().split('\n').map(Number);
  assert.equal(sizes.length, 50);
  const q = await quota(42);
  assert.equal(q.kbytes - before.kbytes, sizes.reduce((a, b) => a + b, 0) / 1024);
  assert.equal(q.files - before.files, 50);
  await sh(`rm ${m}/vol/c*`);
  assert.deepEqual(await quota(42), before);
});

test('two mounts writing at once into one project never pass the limit together', async () => {
  const b = await fs.mount('b');
  try {
    const writers = await Promise.all(
      [m, b.point].map((p, i) => shResult(`dd if=/dev/zero of=${p}/vol/w${i} bs=1M count=16`, 120_000)),
    );
    for (const w of writers) assert.match(w.stderr, /Disk quota exceeded/);
    const q = await quota(42);
    assert.ok(q.kbytes <= 8192, `usage ${q.kbytes} KiB within the 8 MiB limit`);
    const sizes = await Promise.all([0, 1].map(async (i) => (await stat(`${m}/vol/w${i}`)).size));
    assert.equal((sizes[0]! + sizes[1]!) / 1024, q.kbytes, 'usage is exactly what the files hold');
    assert.ok(sizes[0]! + sizes[1]! >= 6 * MiB, `the writers filled the quota (${sizes.join(' + ')} bytes)`);
    await sh(`rm ${m}/vol/w0 ${m}/vol/w1`);
  } finally {
    await b.unmount();
  }
});
