// End to end through real FUSE mounts of a real file system in separate processes: two mounts of one
// file system, cross-mount locks, fio with verification across 4 stripes, and servers killed with -9.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type FsProcesses, nacreCli, sh, shResult, startFsProcesses } from './processes.ts';

let fs: FsProcesses;
let a: string;
let b: string;

before(async () => {
  fs = await startFsProcesses();
  a = await fs.mount('a');
  b = await fs.mount('b');
  await sh(`mkdir ${a}/striped && ${nacreCli(`lfs setstripe -c 4 -S 1M ${a}/striped`)}`);
});
after(() => fs?.stop());

test('a write on one mount is read on the other as soon as it returns; metadata changes show at once', async () => {
  for (let i = 0; i < 20; i++) {
    const got = await sh(`printf 'v${i}' > ${a}/shared && cat ${b}/shared`);
    assert.equal(got, `v${i}`);
  }
  await sh(`dd if=/dev/urandom of=${a}/striped/big bs=1M count=24 status=none`);
  assert.equal(
    (await sh(`sha256sum < ${a}/striped/big`)).split(' ')[0],
    (await sh(`sha256sum < ${b}/striped/big`)).split(' ')[0],
  );
  await sh(`touch ${a}/new && mv ${a}/new ${a}/renamed && chmod 640 ${a}/renamed`);
  assert.equal(await sh(`stat -c '%n %a' ${b}/renamed`), `${b}/renamed 640\n`);
  assert.equal((await shResult(`stat ${b}/new`)).code, 1);
  await sh(`rm ${a}/renamed`);
  assert.match((await shResult(`cat ${b}/renamed`)).stderr, /No such file or directory/);
});

test('a 4-stripe file puts a stripe on every OST', async () => {
  const out = await sh(nacreCli(`lfs getstripe ${b}/striped/big`));
  assert.match(out, /lmm_stripe_count:\s+4/);
  const osts = [...out.matchAll(/^\s+(\d+)\s+\S+$/gm)].map((m) => Number(m[1])).sort();
  assert.deepEqual(osts, [0, 1, 2, 3]);
});

test('flock and fcntl byte-range locks are enforced across mounts', async () => {
  await sh(`touch ${a}/lockme`);
  // flock held on mount a by a background flock(1) until its `sleep 31` is killed.
  void sh(`flock -o ${a}/lockme sleep 31`, { timeoutMs: 40_000 }).catch(() => undefined);
  await waitFor(
    async () => (await shResult(`flock -n ${b}/lockme true`)).code !== 0,
    'flock held on mount a',
  );
  await sh('pkill -f "^sleep 31$"');
  await waitFor(async () => (await shResult(`flock -n ${b}/lockme true`)).code === 0, 'flock released');

  const py = (path: string, code: string) =>
    `python3 -c "import fcntl, os, sys, struct; fd = os.open('${path}', os.O_RDWR); ${code}"`;
  // fcntl: a process on mount a locks bytes 0-99 and waits on its stdin; processes on mount b try.
  void sh(py(`${a}/lockme`, "fcntl.lockf(fd, fcntl.LOCK_EX, 100, 0); print('held'); sys.stdin.read()"), {
    timeoutMs: 60_000,
  }).catch(() => undefined);
  const tryLock = (start: number) =>
    shResult(py(`${b}/lockme`, `fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, ${start})`));
  await waitFor(async () => (await tryLock(50)).code !== 0, 'bytes 50-59 conflict with 0-99 held on mount a');
  assert.equal((await tryLock(200)).code, 0, 'a range nobody holds is granted');
  const getlk = await sh(
    py(
      `${b}/lockme`,
      "r = fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack('hhqqi', fcntl.F_WRLCK, 0, 10, 10, 0)); print(struct.unpack('hhqqi', r)[0] != fcntl.F_UNLCK)",
    ),
  );
  assert.equal(getlk.trim(), 'True', 'F_GETLK on mount b reports the lock held on mount a');
  await sh('pkill -f "fcntl.LOCK_EX, 10[0], 0"');
  await waitFor(async () => (await tryLock(50)).code === 0, 'the lock goes with its holder');
});

test('fio writes and verifies (crc32c) sequentially and randomly across 4 stripes', async () => {
  const fio = (args: string) =>
    sh(`fio --directory=${a}/striped --output-format=terse --minimal ${args}`, { timeoutMs: 240_000 });
  await fio(
    '--name=seq --rw=write --bs=1M --size=128M --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0',
  );
  await fio(
    '--name=rand --rw=randwrite --bs=4k --size=16M --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0',
  );
  // The same data read back through the other mount verifies too.
  await sh(
    `fio --directory=${b}/striped --output-format=terse --minimal --name=seq --rw=read --bs=1M --size=128M --verify=crc32c --verify_only --verify_fatal=1 --verify_state_save=0`,
    { timeoutMs: 240_000 },
  );
});

test('with one OSS killed, files striped onto it give EIO and the others still work; its return heals them', async () => {
  await sh(`dd if=/dev/urandom of=${a}/striped/wide bs=1M count=8 status=none`);
  const before = await sh(`sha256sum < ${a}/striped/wide`);
  const layout = await sh(nacreCli(`lfs getstripe ${a}/striped/wide`));
  assert.match(layout, /lmm_stripe_count:\s+4/);
  // Every OSS serves one OST; the victim serves OST 1, which holds a stripe of the 4-stripe file.
  const victimName = fs.config.osts.find((t) => t.index === 1)!.server;
  const victim = fs.osses.find((s) => s.name === victimName)!;
  assert.equal(new Set(fs.config.osts.map((t) => t.server)).size, 4, 'one OST on each OSS');
  await victim.kill9();
  const read = await shResult(`cat ${a}/striped/wide > /dev/null`);
  assert.notEqual(read.code, 0);
  assert.match(read.stderr, /Input\/output error/);
  let survivors = 0;
  for (let i = 0; i < 8; i++) {
    const r = await shResult(`echo ok${i} > ${a}/single${i} && cat ${b}/single${i}`);
    if (r.code === 0) {
      assert.equal(r.stdout, `ok${i}\n`);
      survivors++;
    } else assert.match(r.stderr, /Input\/output error|I\/O error/);
  }
  assert.ok(survivors >= 4, `files on the three live OSTs keep working (${survivors}/8 did)`);
  await victim.start();
  await waitFor(async () => (await shResult(`cat ${b}/striped/wide > /dev/null`)).code === 0, 'OSS back');
  assert.equal(await sh(`sha256sum < ${b}/striped/wide`), before);
});

test('kill -9 of the MDS during a metadata workload loses nothing it acknowledged', async () => {
  await sh(`mkdir ${a}/meta`);
  // Each line is printed only after its syscalls returned: that is what was acknowledged.
  const workload = sh(
    `for i in $(seq 1 1500); do echo "c$i" > ${a}/meta/f$i && mv ${a}/meta/f$i ${a}/meta/g$i && echo $i; done`,
    { timeoutMs: 180_000 },
  );
  let finished = false;
  void workload.finally(() => {
    finished = true;
  });
  await waitFor(
    async () => Number((await shResult(`ls ${b}/meta | wc -l`)).stdout) >= 50,
    'the workload is under way',
  );
  await fs.mds.kill9();
  assert.equal(finished, false, 'the MDS died in the middle of the workload');
  await fs.mds.start();
  const done = (await workload).trim().split('\n').map(Number);
  assert.equal(done.at(-1), 1500, 'the workload carried on through the restart');
  const names = new Set((await sh(`ls ${b}/meta`)).trim().split('\n'));
  for (const i of done) {
    assert.ok(names.has(`g${i}`), `g${i} was acknowledged and must exist`);
    assert.ok(!names.has(`f${i}`), `f${i} was renamed`);
  }
  assert.equal(await sh(`cat ${b}/meta/g1 ${b}/meta/g1500`), 'c1\nc1500\n');
});

test('mounting where no MGS listens fails with a message, not a hang', async () => {
  const started = Date.now();
  const r = await shResult(
    `mkdir -p ${fs.dir}/nowhere && ${nacreCli(`mount 127.0.0.1:1@tcp:/e2e ${fs.dir}/nowhere`)}`,
    90_000,
  );
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /mount failed|cannot reach|ECONNREFUSED|unreachable/i);
  assert.ok(Date.now() - started < 70_000, 'gave up within its deadline');
});

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
