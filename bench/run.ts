// `npm run bench -- <sub-command>`: Nacre's benchmarks, each figure a median of interleaved repetitions beside its baseline.
//
// Sub-commands: limits | footprint | seq [--size 128M] | metadata [--files 2000] | striping |
// smallfiles [--files] | two-mounts | fs [fs-bench.sh options] | all (every one but fs). `--reps N` (default 5), `--json FILE` writes the results to compare commits,
// `--mount-args "<flags>"` mounts Nacre with those `nacre mount` flags (e.g. "--cached").
// Not a test: nothing is asserted.
import '../cmd/env-init.ts';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { footprint, printFootprint } from './footprint.ts';
import { limits, printLimits } from './limits.ts';
import { metadataBench } from './metadata.ts';
import { seqBench } from './seq.ts';
import { smallFilesBench } from './smallfiles.ts';
import { stripingBench } from './striping.ts';
import { targetSettings } from './targets.ts';
import { twoMountsBench } from './two-mounts.ts';

const SUBS = ['limits', 'footprint', 'seq', 'metadata', 'striping', 'smallfiles', 'two-mounts', 'fs', 'all'];
const USAGE = `usage: npm run bench -- ${SUBS.join('|')} [--reps N] [--json FILE] [--size S] [--files N] [--mount-args FLAGS] [fs-bench options]`;

interface Opts {
  sub: string;
  reps: number;
  json?: string;
  size: string;
  files: number;
  rest: string[];
}

function parse(argv: string[]): Opts {
  const [sub = 'all', ...args] = argv;
  let reps = 5;
  let json: string | undefined;
  let size = '128M';
  let files = 2000;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--reps') reps = Number(args[++i]);
    else if (a === '--json') json = args[++i];
    else if (a === '--size') size = args[++i] ?? size;
    else if (a === '--files') files = Number(args[++i]);
    else if (a === '--mount-args') targetSettings.mountArgs = (args[++i] ?? '').split(' ').filter(Boolean);
    else rest.push(a);
  }
  if (!SUBS.includes(sub) || !(reps >= 1) || !(files >= 1)) throw new Error(USAGE);
  return { sub, reps, size, files, rest, ...(json !== undefined && { json }) };
}

/** Runs bench/fs-bench.sh (fio on a `nacre up` mount against the local directory): its table to stdout, its rows returned. */
async function fsBench(reps: number, rest: string[]): Promise<{ status: number; rows: unknown }> {
  const script = fileURLToPath(new URL('./fs-bench.sh', import.meta.url));
  const dir = await mkdtemp(join(tmpdir(), 'nacre-bench-json-'));
  try {
    const json = join(dir, 'fs.json');
    const r = spawnSync('bash', [script, '--reps', String(reps), '--json', json, ...rest], {
      stdio: 'inherit',
    });
    const rows: unknown = JSON.parse(await readFile(json, 'utf8').catch(() => 'null'));
    return { status: r.status ?? 1, rows };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const opts = parse(process.argv.slice(2));
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  reps: opts.reps,
  mountArgs: targetSettings.mountArgs,
};
if (opts.sub === 'limits' || opts.sub === 'all') {
  console.log('== limits');
  const l = await limits(opts.reps);
  printLimits(l);
  results['limits'] = l;
}
if (opts.sub === 'footprint' || opts.sub === 'all') {
  console.log('== footprint');
  const f = await footprint(opts.reps);
  printFootprint(f);
  results['footprint'] = f;
}
if (opts.sub === 'seq' || opts.sub === 'all') {
  console.log(`== seq: fio 1 MiB, ${opts.size} per job, MiB/s`);
  results['seq'] = await seqBench(opts.reps, opts.size);
}
if (opts.sub === 'metadata' || opts.sub === 'all') {
  console.log(`== metadata: ${opts.files} entries in one directory, one process, ops/s`);
  results['metadata'] = await metadataBench(opts.reps, opts.files);
}
if (opts.sub === 'striping' || opts.sub === 'all') {
  console.log(
    `== striping: one file, fio 1 MiB direct libaio ×8, ${opts.size}, every OST paced to 32 MiB/s, speed-up over 1 stripe`,
  );
  results['striping'] = await stripingBench(opts.reps, opts.size);
}
if (opts.sub === 'smallfiles' || opts.sub === 'all') {
  const n = Math.max(1, Math.round(opts.files / 4));
  console.log(`== smallfiles: mdtest-hard shape, 2 processes × ${n} files of 3901 B in one directory`);
  results['smallfiles'] = await smallFilesBench(opts.reps, n);
}
if (opts.sub === 'two-mounts' || opts.sub === 'all') {
  console.log(`== two-mounts: fio 1 MiB direct, ${opts.size} per file`);
  results['twoMounts'] = await twoMountsBench(opts.reps, opts.size);
}
if (opts.sub === 'fs') {
  console.log('== fs');
  const { status, rows } = await fsBench(opts.reps, opts.rest);
  results['fs'] = rows;
  if (status !== 0) process.exitCode = status;
}
if (opts.json) await writeFile(opts.json, `${JSON.stringify(results, null, 2)}\n`);
