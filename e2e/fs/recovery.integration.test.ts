// A server that stays down: a mount with --recovery N gives EIO after N seconds (saying why in its log), a hard mount waits and completes.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type FsCluster, NACRE, startFsCluster } from './fs-cluster.ts';
import { type Held, hold, run, sh } from './shell.ts';

let fs: FsCluster;
const mounts: { point: string; held: Held; log: string }[] = [];

/** `nacre mount --foreground --recovery <recovery>` in its own process, logging to logs/<name>.log. */
async function mountWith(name: string, recovery: string): Promise<{ point: string; log: string }> {
  const point = join(fs.dir, name);
  const log = join(fs.dir, 'logs', `${name}.log`);
  await sh(`mkdir -p ${point}`);
  const held = hold([
    'sh',
    '-c',
    `exec "$@" 2>>${log}`,
    'sh',
    ...NACRE,
    'mount',
    '--foreground',
    '--recovery',
    recovery,
    fs.source,
    point,
  ]);
  mounts.push({ point, held, log });
  await held.waitForLine(/"ready"/, 60_000);
  return { point, log };
}

before(async () => {
  fs = await startFsCluster({ fsname: 'recovery', ossCount: 2 });
});
after(async () => {
  for (const m of mounts) {
    await m.held.kill();
    await run(['umount', '-l', m.point], { timeoutMs: 10_000 });
  }
  await fs?.stop();
});

test('an OSS that stays down: --recovery 3 gives EIO after about 3 s and logs why; a hard mount waits until it is back', async () => {
  const soft = await mountWith('soft', '3');
  const hard = await mountWith('hard', 'hard');
  await sh(`mkdir ${soft.point}/d && ${NACRE.join(' ')} lfs setstripe -c 2 ${soft.point}/d`);
  await sh(`dd if=/dev/urandom of=${soft.point}/d/f bs=1M count=4 status=none`);
  const sum = await sh(`sha256sum < ${soft.point}/d/f`);
  const victim = fs.osses[1]!;
  await victim.kill9();

  const waiting = run(['sha256sum', `${hard.point}/d/f`], { timeoutMs: 300_000 });
  let hardDone = false;
  void waiting.then(() => {
    hardDone = true;
  });
  const started = Date.now();
  const r = await run(['cat', `${soft.point}/d/f`], { timeoutMs: 120_000 });
  const ms = Date.now() - started;
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Input\/output error/);
  const log = await readFile(soft.log, 'utf8');
  assert.ok(ms >= 2_500, `EIO came after the recovery window, not at once (${ms} ms): ${log.slice(-3000)}`);
  assert.match(log, /EIO to the application/, 'the mount says why the application got EIO');
  assert.match(log, /read/, 'and which call');
  assert.match(log, new RegExp(`${fs.fsname}-OST000[01]|unreachable`), 'and which server');

  assert.equal(hardDone, false, 'the hard mount reader is still waiting, not failed');
  await victim.start();
  const done = await waiting;
  assert.equal(done.code, 0, done.stderr);
  assert.equal(done.stdout.split(' ')[0], sum.split(' ')[0]);
  assert.equal(await sh(`sha256sum < ${soft.point}/d/f`), sum, 'the soft mount reads it again too');
});

test('the MDS down: --recovery 3 gives EIO after about 3 s and logs why; a hard mount waits until it is back', async () => {
  const soft = { point: join(fs.dir, 'soft'), log: join(fs.dir, 'logs', 'soft.log') };
  const hard = { point: join(fs.dir, 'hard') };
  await sh(`mkdir ${soft.point}/m && echo hello > ${soft.point}/m/f`);
  await fs.mds.kill9();
  const waiting = run(['cat', `${hard.point}/m/f`], { timeoutMs: 300_000 });
  let hardDone = false;
  void waiting.then(() => {
    hardDone = true;
  });
  const started = Date.now();
  const r = await run(['stat', `${soft.point}/m/f`], { timeoutMs: 120_000 });
  const ms = Date.now() - started;
  const log = await readFile(soft.log, 'utf8');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Input\/output error/);
  assert.ok(ms >= 2_000, `EIO came after the recovery window (${ms} ms)`);
  assert.match(log, /EIO to the application: the MDS stayed unreachable/);
  assert.equal(hardDone, false, 'the hard mount reader is still waiting, not failed');
  await fs.mds.start();
  const done = await waiting;
  assert.equal(done.code, 0, done.stderr);
  assert.equal(done.stdout, 'hello\n');
});
