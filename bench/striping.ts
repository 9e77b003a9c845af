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
 * Every OST gets the same bandwidth budget (`nacre server --role oss --bandwidth`, default 32 MiB/s
 * here), well below what the shared disk and loopback move, so the speed-up shows how well the
 * client drives stripes in parallel rather than how busy the one disk is.
 */
export async function stripingBench(reps: number, size = '256M', ostBandwidth = '32M'): Promise<StripeRow[]> {
  const targets = await startTargets({ memfs: false, ostBandwidth });
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
        // 8 requests of 1 MiB in flight (libaio): a synchronous writer on a FOPEN_DIRECT_IO file has
        // only one FUSE request in flight at a time, which no striping can speed up.
        const common = ['--numjobs=1', '--ioengine=libaio', '--iodepth=8', `--size=${size}`, '--direct=1'];
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
