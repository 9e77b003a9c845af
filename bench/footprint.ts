// Footprint per process: `nacre --help` start-up time and idle RSS of every server role and a mount daemon, beside bare Node.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startFsCluster } from '../e2e/fs/fs-cluster.ts';
import { median } from './stats.ts';

const nacre = fileURLToPath(new URL('../cmd/nacre.ts', import.meta.url));

/** Wall time (ms) and peak RSS (MiB) of one run of `node args`. */
function timed(args: string[]): { ms: number; rssMiB: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, ...args], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${r.stderr}`);
  const kb = Number(r.stderr.trim().split('\n').pop());
  return { ms, rssMiB: kb / 1024 };
}

/** VmRSS of a live process, MiB. */
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/** RSS once it has stopped moving (idle): sampled every 200 ms until two samples agree within 1 MiB, 5 s at most. */
async function idleRss(pid: number): Promise<number> {
  let last = rssMiB(pid);
  for (let i = 0; i < 25; i++) {
    await sleep(200);
    const now = rssMiB(pid);
    if (Math.abs(now - last) < 1) return now;
    last = now;
  }
  return last;
}

export interface FootprintResult {
  help: { bareNodeMs: number; nacreMs: number; ratio: number; bareRssMiB: number; nacreRssMiB: number };
  idleRssMiB: Record<string, number>;
}

export async function footprint(reps: number): Promise<FootprintResult> {
  const bare: { ms: number; rssMiB: number }[] = [];
  const help: { ms: number; rssMiB: number }[] = [];
  for (let i = 0; i < reps; i++) {
    bare.push(timed(['-e', '0']));
    help.push(timed([nacre, '--help']));
  }
  const bareMs = median(bare.map((x) => x.ms));
  const helpMs = median(help.map((x) => x.ms));
  const cluster = await startFsCluster({ fsname: 'fp', ossCount: 1 });
  const idle: Record<string, number> = {};
  try {
    const mount = await cluster.mount('a');
    const procs: [string, number | undefined][] = [
      ['mgs', cluster.mgs.pid],
      ['mds', cluster.mds.pid],
      ['oss', cluster.osses[0]!.pid],
      ['mount', mount.pid],
    ];
    for (const [name, pid] of procs) if (pid !== undefined) idle[name] = await idleRss(pid);
  } finally {
    await cluster.stop();
  }
  return {
    help: {
      bareNodeMs: bareMs,
      nacreMs: helpMs,
      ratio: helpMs / bareMs,
      bareRssMiB: median(bare.map((x) => x.rssMiB)),
      nacreRssMiB: median(help.map((x) => x.rssMiB)),
    },
    idleRssMiB: idle,
  };
}

export function printFootprint(r: FootprintResult): void {
  const h = r.help;
  console.log(
    `nacre --help      ${h.nacreMs.toFixed(0)} ms ${h.nacreRssMiB.toFixed(0)} MiB   bare node ${h.bareNodeMs.toFixed(0)} ms ${h.bareRssMiB.toFixed(0)} MiB   ratio ${h.ratio.toFixed(2)}`,
  );
  for (const [name, mib] of Object.entries(r.idleRssMiB)) {
    console.log(
      `idle RSS ${name.padEnd(8)} ${mib.toFixed(0)} MiB   bare node ${h.bareRssMiB.toFixed(0)} MiB   ratio ${(mib / h.bareRssMiB).toFixed(2)}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const reps = Number(process.argv[2] ?? 5);
  const r = await footprint(reps);
  printFootprint(r);
  console.log(JSON.stringify({ footprint: r }));
}
