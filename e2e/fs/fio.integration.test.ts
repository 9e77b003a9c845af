// fio with crc32c verification on a directory striped over 4 OSTs, through real mounts: sequential, random 4k, mixed sizes.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { NACRE, useFsCluster } from './fs-cluster.ts';
import { run, sh } from './shell.ts';

const MiB = 2 ** 20;
let a: string;
let b: string;

const t = useFsCluster({ fsname: 'fio', mounts: ['a', 'b'] });
before(async () => {
  await t.ready;
  [a, b] = [t.mounts['a']!, t.mounts['b']!];
  await sh(`mkdir ${a}/striped && ${NACRE.join(' ')} lfs setstripe -c 4 -S 1M ${a}/striped`);
});

interface FioJob {
  jobname: string;
  error: number;
  write: { io_bytes: number; bw: number };
  read: { io_bytes: number; bw: number };
}

/** Runs fio with crc32c verification and fails on any error; returns its per-job JSON results. */
async function fio(dir: string, args: string[]): Promise<FioJob[]> {
  const r = await run(
    [
      'fio',
      `--directory=${dir}`,
      '--output-format=json',
      '--verify=crc32c',
      '--verify_fatal=1',
      '--verify_state_save=0',
      '--group_reporting=0',
      ...args,
    ],
    { timeoutMs: 180_000 },
  );
  assert.equal(r.code, 0, `fio ${args.join(' ')} failed:\n${r.stderr}\n${r.stdout.slice(-3000)}`);
  const jobs = (JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { jobs: FioJob[] }).jobs;
  for (const j of jobs) assert.equal(j.error, 0, `fio job ${j.jobname} error ${j.error}`);
  return jobs;
}

const total = (jobs: FioJob[], dir: 'read' | 'write') => jobs.reduce((n, j) => n + j[dir].io_bytes, 0);

test('fio sequential 1 MiB writes (2 jobs, 256 MiB) verify with crc32c, on this mount and the other', async () => {
  const jobs = await fio(`${a}/striped`, [
    '--name=seq',
    '--rw=write',
    '--bs=1M',
    '--size=128M',
    '--numjobs=2',
    '--do_verify=1',
  ]);
  assert.equal(total(jobs, 'write'), 256 * MiB);
  assert.equal(total(jobs, 'read'), 256 * MiB, 'every block was read back and verified');
  // The same files verified through the other mount.
  const again = await fio(`${b}/striped`, [
    '--name=seq',
    '--rw=write',
    '--bs=1M',
    '--size=128M',
    '--numjobs=2',
    '--verify_only',
  ]);
  assert.equal(total(again, 'read'), 256 * MiB);
  const layout = await sh(`${NACRE.join(' ')} lfs getstripe ${a}/striped/seq.0.0`);
  assert.match(layout, /lmm_stripe_count:\s+4/);
});

test('fio random 4 KiB writes (libaio, queue depth 8, O_DIRECT) verify with crc32c', async () => {
  const jobs = await fio(`${a}/striped`, [
    '--name=rand4k',
    '--rw=randwrite',
    '--bs=4k',
    '--size=16M',
    '--ioengine=libaio',
    '--iodepth=8',
    '--direct=1',
    '--do_verify=1',
  ]);
  assert.equal(total(jobs, 'write'), 16 * MiB);
  assert.equal(total(jobs, 'read'), 16 * MiB);
});

test('fio random writes of mixed sizes across stripe boundaries verify with crc32c', async () => {
  const jobs = await fio(`${a}/striped`, [
    '--name=mixed',
    '--rw=randwrite',
    '--bsrange=4k-1536k',
    '--blockalign=4k',
    '--size=64M',
    '--do_verify=1',
  ]);
  assert.equal(total(jobs, 'write'), 64 * MiB);
  assert.equal(total(jobs, 'read'), 64 * MiB);
});
