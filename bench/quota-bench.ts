// Benchmark (not a test): the cost of project quotas on the write path. Sequential 1 MiB writes through LustreClient
// into a directory without a project, one passing on a project without limits, and one whose project has a block
// limit (1 TiB, so writes take grants but never hit it), interleaved repetitions, medians, ratios to the first.
//
//   node bench/quota-bench.ts [--mib 256] [--reps 5] [--inflight 1,8] [--dir /tmp]

import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { configureLogging } from '../src/lib/log.ts';
import { setstripePath } from '../src/lustre/client/lfs.ts';
import { connectLustre } from '../src/lustre/client/lustre-client.ts';
import { ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../src/lustre/types.ts';
import { startTestCluster } from '../test/lustre/test-cluster.ts';

const MiB = 1 << 20;
const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '256' },
    reps: { type: 'string', default: '5' },
    inflight: { type: 'string', default: '1,8' },
    dir: { type: 'string', default: os.tmpdir() },
  },
});
const total = Number(values.mib);
const reps = Number(values.reps);
const widths = values.inflight.split(',').map(Number);
configureLogging({ level: 'error' });

const HOST = 'bench-host';
const cluster = await startTestCluster({
  localHost: HOST,
  ossInChildren: true,
  baseDir: values.dir,
  ostCapacityBytes: 4 * total * MiB,
});
const client = await connectLustre({ mgsAddress: cluster.mgsAddress, fsname: cluster.fsname, host: HOST });
const payload = randomBytes(MiB);
const kinds = ['no project', 'project, no limit', 'project, 1 TiB limit'] as const;

async function pipeline(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
}

async function writeRate(dir: number, name: string, width: number): Promise<number> {
  const { handle } = await client.create(ROOT, dir, name, 0o644, 2);
  const t0 = performance.now();
  await pipeline(total, width, (i) => client.write(handle, i * MiB, payload));
  const mibs = total / ((performance.now() - t0) / 1000);
  await client.release(handle);
  await client.unlink(ROOT, dir, name);
  return mibs;
}

try {
  const dirs: number[] = [];
  for (const [k, name] of ['plain', 'unlimited', 'limited'].entries()) {
    const d = await client.mkdir(ROOT, ROOT_INO, name, 0o755);
    await setstripePath(client, `/${name}`, { stripeCount: 4, stripeSize: MiB });
    if (k > 0) await client.setProject(ROOT, d.ino, 100 + k, true);
    dirs.push(d.ino);
  }
  await client.setQuota(102, { blockHardLimitBytes: 2 ** 40, inodeHardLimit: 0 });
  console.log(
    `${total} MiB per run, 1 MiB writes, 4 stripes of 1 MiB, ${reps} interleaved reps, medians (MiB/s):`,
  );
  for (const width of widths) {
    const rates: number[][] = kinds.map(() => []);
    for (let rep = 0; rep < reps; rep++) {
      for (let j = 0; j < kinds.length; j++) {
        const k = (rep + j) % kinds.length;
        rates[k]!.push(await writeRate(dirs[k]!, `f${rep}`, width));
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const base = median(rates[0]!);
    for (const [k, kind] of kinds.entries()) {
      const m = median(rates[k]!);
      console.log(
        `  ${width} in flight, ${kind.padEnd(21)} ${m.toFixed(0).padStart(5)}  x${(m / base).toFixed(2)}   [${rates[k]!.map((x) => x.toFixed(0)).join(' ')}]`,
      );
    }
  }
} finally {
  await client.close();
  await cluster.close();
}
