// Small files in the IO500 mdtest-hard shape: two processes write, stat, read and delete 3901-byte files in one shared directory.
import '../cmd/env-init.ts';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../e2e/fs/shell.ts';
import { median, ratio } from './stats.ts';
import { startTargets, type Target } from './targets.ts';

const worker = fileURLToPath(new URL('./smallfiles-worker.ts', import.meta.url));
const PHASES = ['write', 'stat', 'read', 'delete'] as const;

export interface SmallRow {
  phase: string;
  local: number;
  nacre: number;
  vsLocal: number;
}

/** Files per second of both processes together in each phase (each process times itself; they run at once). */
async function once(t: Target, files: number, round: number): Promise<number[]> {
  const dir = join(t.dir, `small-${round}`);
  await mkdir(dir);
  const out: number[] = [];
  for (const phase of PHASES) {
    const rates = await Promise.all(
      ['p0', 'p1'].map(async (p) => {
        const r = await run([process.execPath, worker, phase, dir, p, String(files)], { timeoutMs: 600_000 });
        if (r.code !== 0) throw new Error(`small-file ${phase} in ${dir}: ${r.stderr}`);
        return Number(r.stdout.trim());
      }),
    );
    out.push(rates.reduce((a, b) => a + b, 0));
  }
  await rm(dir, { recursive: true, force: true });
  return out;
}

export async function smallFilesBench(reps: number, files = 500): Promise<SmallRow[]> {
  const targets = await startTargets({ memfs: false });
  const seen = { local: PHASES.map(() => [] as number[]), nacre: PHASES.map(() => [] as number[]) };
  try {
    for (let i = 0; i < reps; i++) {
      for (const t of [targets.local, targets.nacre]) {
        const r = await once(t, files, i);
        for (const [k, v] of r.entries()) seen[t.name as 'local' | 'nacre'][k]!.push(v);
      }
    }
  } finally {
    await targets.stop();
  }
  return PHASES.map((phase, k) => {
    const [l, n] = [median(seen.local[k]!), median(seen.nacre[k]!)];
    const row = { phase, local: l, nacre: n, vsLocal: ratio(n, l) };
    console.log(
      `${`${phase} 2×${files}`.padEnd(14)} local ${l.toFixed(0).padStart(7)}  nacre ${n.toFixed(0).padStart(6)} files/s   ×local ${row.vsLocal.toFixed(3)}`,
    );
    return row;
  });
}
