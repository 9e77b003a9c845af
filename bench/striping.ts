// Striping: one large file written and read with 1, 2 and 4 stripes of 1 MiB, against the 1-stripe figure of the same run.
import '../cmd/env-init.ts';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../e2e/fs/shell.ts';
import { fio } from './seq.ts';
import { median, ratio } from './stats.ts';
import { startTargets } from './targets.ts';

export interface StripeRow {
  stripes: number;
  writeMiBs: number;
  readMiBs: number;
  writeSpeedup: number;
  readSpeedup: number;
}

const nacre = fileURLToPath(new URL('../cmd/nacre.ts', import.meta.url));

/**
 * All OSTs of the benchmark share this machine's one disk and CPU, and no per-OST bandwidth budget
 * is imposed, so the speed-up shows how well the client drives stripes in parallel, not added disks.
 */
export async function stripingBench(reps: number, size = '256M'): Promise<StripeRow[]> {
  const targets = await startTargets({ memfs: false });
  const counts = [1, 2, 4];
  const w = counts.map(() => [] as number[]);
  const r = counts.map(() => [] as number[]);
  try {
    const dirs = counts.map((c) => join(targets.nacre.dir, `stripes-${c}`));
    for (const [i, d] of dirs.entries()) {
      await mkdir(d);
      const s = await run(
        [process.execPath, nacre, 'lfs', 'setstripe', '-c', String(counts[i]), '-S', '1M', d],
        {
          timeoutMs: 30_000,
        },
      );
      if (s.code !== 0) throw new Error(`lfs setstripe: ${s.stderr}`);
    }
    for (let k = 0; k < reps; k++) {
      for (const [i, d] of dirs.entries()) {
        await run(['sh', '-c', `rm -f "${d}"/seq.*`], { timeoutMs: 60_000 });
        // 4 MiB requests: the kernel sends each as four 1 MiB FUSE requests at once (ASYNC_DIO), one per stripe.
        const common = ['--numjobs=1', '--bs=4M', `--size=${size}`, '--direct=1'];
        w[i]!.push(await fio(d, [...common, '--rw=write', '--end_fsync=1']));
        r[i]!.push(await fio(d, [...common, '--rw=read']));
      }
    }
  } finally {
    await targets.stop();
  }
  const [w1, r1] = [median(w[0]!), median(r[0]!)];
  return counts.map((stripes, i) => {
    const row = {
      stripes,
      writeMiBs: median(w[i]!),
      readMiBs: median(r[i]!),
      writeSpeedup: ratio(median(w[i]!), w1),
      readSpeedup: ratio(median(r[i]!), r1),
    };
    console.log(
      `${stripes} stripe${stripes > 1 ? 's' : ' '}  write ${row.writeMiBs.toFixed(0).padStart(5)} MiB/s (×${row.writeSpeedup.toFixed(2)})  read ${row.readMiBs.toFixed(0).padStart(5)} MiB/s (×${row.readSpeedup.toFixed(2)})`,
    );
    return row;
  });
}
