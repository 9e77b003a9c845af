// Benchmark (not a test): what a point-in-time snapshot costs writers. Overwrites of existing files through LustreClient
// with no snapshot, with a snapshot just taken (every object is copied at its first change), and again with every
// object already kept; interleaved repetitions, medians, ratios to the first; and the barrier's duration.
//
//   node bench/snapshot-bench.ts [--files 16] [--mib 4] [--reps 5] [--dir /tmp]

import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { configureLogging } from '../src/lib/log.ts';
import { connectLustre } from '../src/lustre/client/lustre-client.ts';
import { type FileHandle, ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../src/lustre/types.ts';
import { startTestCluster } from '../test/lustre/test-cluster.ts';

const MiB = 1 << 20;
const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '16' },
    mib: { type: 'string', default: '4' },
    reps: { type: 'string', default: '5' },
    dir: { type: 'string', default: os.tmpdir() },
  },
});
const [files, mib, reps] = [Number(values.files), Number(values.mib), Number(values.reps)];
configureLogging({ level: 'error' });

const cluster = await startTestCluster({
  localHost: 'h',
  ossInChildren: true,
  baseDir: values.dir,
  ostCapacityBytes: 2 ** 32,
});
const client = await connectLustre({ mgsAddress: cluster.mgsAddress, fsname: cluster.fsname, host: 'h' });
const payload = randomBytes(MiB);
const handles: FileHandle[] = [];
for (let i = 0; i < files; i++)
  handles.push((await client.create(ROOT, ROOT_INO, `f${i}`, 0o644, 2 | 0o100)).handle);

/** Overwrites every file whole, 1 MiB writes, one file after the other; ms. */
async function overwrite(): Promise<number> {
  const t0 = performance.now();
  for (const h of handles) for (let m = 0; m < mib; m++) await client.write(h, m * MiB, payload);
  return performance.now() - t0;
}
await overwrite();

const kinds = ['no snapshot', 'first change after a snapshot', 'objects already kept'] as const;
const times: Record<(typeof kinds)[number], number[]> = {
  'no snapshot': [],
  'first change after a snapshot': [],
  'objects already kept': [],
};
const barriers: number[] = [];
for (let r = 0; r < reps; r++) {
  times['no snapshot'].push(await overwrite());
  const t0 = performance.now();
  const snap = await client.takeSnapshot(`bench${r}`);
  barriers.push(performance.now() - t0);
  times['first change after a snapshot'].push(await overwrite());
  times['objects already kept'].push(await overwrite());
  await snap.drop();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(times['no snapshot']);
for (const k of kinds) {
  const m = median(times[k]);
  console.log(
    `${k.padEnd(32)} ${m.toFixed(0).padStart(6)} ms  ${((files * mib) / (m / 1000)).toFixed(1).padStart(7)} MiB/s  x${(base / m).toFixed(2)}`,
  );
}
console.log(
  `snapshot barrier (takeSnapshot round trip), median of ${reps}: ${median(barriers).toFixed(1)} ms`,
);
for (const h of handles) await client.release(h);
await client.close();
await cluster.close();
