// Sequential 1 MiB reads and writes, 1 and 4 jobs, buffered and direct (and buffered re-reads of what is cached): Nacre against the local directory and a memory FS on the same FUSE layer.
import '../cmd/env-init.ts';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../e2e/fs/shell.ts';
import { median, ratio } from './stats.ts';
import { startTargets, type Target } from './targets.ts';

export interface SeqRow {
  job: string;
  localMiBs: number;
  memfsMiBs: number;
  nacreMiBs: number;
  vsLocal: number;
  vsMemfs: number;
}

/** MiB/s of one fio run in `dir` (all jobs together). */
export async function fio(dir: string, args: string[]): Promise<number> {
  const out = join(tmpdir(), `nacre-fio-${process.pid}-${Date.now()}.json`);
  const r = await run(
    [
      'fio',
      `--directory=${dir}`,
      '--name=seq',
      '--bs=1M',
      '--group_reporting',
      '--output-format=json',
      `--output=${out}`,
      ...args,
    ],
    { timeoutMs: 600_000 },
  );
  if (r.code !== 0) throw new Error(`fio ${args.join(' ')} in ${dir}: ${r.stderr}`);
  const job = (JSON.parse(await readFile(out, 'utf8')) as { jobs: Record<string, { bw_bytes: number }>[] })
    .jobs[0]!;
  await rm(out, { force: true });
  return Math.max(job['read']!.bw_bytes, job['write']!.bw_bytes) / 2 ** 20;
}

async function clear(t: Target): Promise<void> {
  await run(['sh', '-c', `rm -rf "${t.dir}"/seq.*`], { timeoutMs: 120_000 });
}

export async function seqBench(reps: number, size = '128M'): Promise<SeqRow[]> {
  const targets = await startTargets();
  const all = [targets.local, targets.memfs, targets.nacre];
  const rows: SeqRow[] = [];
  try {
    for (const jobs of [1, 4]) {
      for (const direct of [false, true]) {
        const common = [`--numjobs=${jobs}`, `--size=${size}`, `--direct=${direct ? 1 : 0}`];
        const label = `${jobs} job${jobs > 1 ? 's' : ''} ${direct ? 'direct' : 'buffered'}`;
        const w = new Map(all.map((t) => [t.name, [] as number[]]));
        const r = new Map(all.map((t) => [t.name, [] as number[]]));
        // Buffered only: the same files read again, without fio dropping the page cache first.
        const again = new Map(all.map((t) => [t.name, [] as number[]]));
        for (let i = 0; i < reps; i++) {
          for (const t of all) {
            await clear(t);
            w.get(t.name)!.push(await fio(t.dir, [...common, '--rw=write', '--end_fsync=1']));
            r.get(t.name)!.push(await fio(t.dir, [...common, '--rw=read']));
            if (!direct)
              again.get(t.name)!.push(await fio(t.dir, [...common, '--rw=read', '--invalidate=0']));
          }
        }
        const kinds = [
          ['write', w],
          ['read', r],
          ...(direct ? [] : ([['re-read', again]] as const)),
        ] as const;
        for (const [kind, m] of kinds) {
          const [l, mem, n] = all.map((t) => median(m.get(t.name)!)) as [number, number, number];
          const row = {
            job: `${kind} ${label}`,
            localMiBs: l,
            memfsMiBs: mem,
            nacreMiBs: n,
            vsLocal: ratio(n, l),
            vsMemfs: ratio(n, mem),
          };
          rows.push(row);
          printSeqRow(row);
        }
      }
    }
  } finally {
    await targets.stop();
  }
  return rows;
}

export function printSeqRow(r: SeqRow): void {
  console.log(
    `${r.job.padEnd(27)} local ${r.localMiBs.toFixed(0).padStart(6)}  memfs ${r.memfsMiBs.toFixed(0).padStart(6)}  nacre ${r.nacreMiBs.toFixed(0).padStart(6)} MiB/s   ×local ${r.vsLocal.toFixed(2)}  ×memfs ${r.vsMemfs.toFixed(2)}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await seqBench(Number(process.argv[2] ?? 5), process.argv[3] ?? '128M');
}
