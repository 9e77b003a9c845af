// Benchmark (not a test): sequential 1 MiB writes and reads through LustreClient on a 4-stripe file, 8 in flight,
// against the real MGS and MDS (in this process) and four OSS (each in its own process; OSS 0 on this host over
// its unix socket). Baselines in the same run: the same bytes to a local file from this process, and straight to
// the four OSTs with OssClient round-robin (no MDS, no striping code). Interleaved repetitions, medians, ratios.
//
//   node bench/client-bench.ts [--mib 256] [--reps 3] [--inflight 8] [--dir /tmp]
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
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
    reps: { type: 'string', default: '3' },
    inflight: { type: 'string', default: '8' },
    dir: { type: 'string', default: os.tmpdir() },
  },
});
const total = Number(values.mib);
const reps = Number(values.reps);
const inflight = Number(values.inflight);
configureLogging({ level: 'error' });

async function pipeline(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
}

async function rate(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return total / ((performance.now() - t0) / 1000);
}

const HOST = 'bench-host';
const cluster = await startTestCluster({
  localHost: HOST,
  ossInChildren: true,
  baseDir: values.dir,
  ostCapacityBytes: 4 * total * MiB,
});
const client = await connectLustre({ mgsAddress: cluster.mgsAddress, fsname: cluster.fsname, host: HOST });
const payload = randomBytes(MiB);
type Result = { write: number[]; read: number[] };
const results: Record<string, Result> = {
  file: { write: [], read: [] },
  osts: { write: [], read: [] },
  client: { write: [], read: [] },
};

async function benchFile(r: Result): Promise<void> {
  const file = path.join(cluster.dir, 'baseline.bin');
  const h = await fs.open(file, 'w+');
  try {
    r.write.push(await rate(() => pipeline(total, inflight, (i) => h.write(payload, 0, MiB, i * MiB))));
    const bufs = Array.from({ length: inflight }, () => Buffer.allocUnsafe(MiB));
    r.read.push(
      await rate(() => pipeline(total, inflight, (i) => h.read(bufs[i % inflight]!, 0, MiB, i * MiB))),
    );
  } finally {
    await h.close();
    await fs.rm(file);
  }
}

async function benchOsts(r: Result, rep: number): Promise<void> {
  const osts = await Promise.all([0, 1, 2, 3].map((i) => cluster.ossFor(i)));
  const object = (s: number) => `${1_000_000 + rep}.${s}`;
  const at = (i: number) => ({ ...osts[i % 4]!, object: object(i % 4), offset: Math.floor(i / 4) * MiB });
  r.write.push(
    await rate(() =>
      pipeline(total, inflight, (i) => {
        const o = at(i);
        return o.client.write({ target: o.target, object: o.object, offset: o.offset }, payload);
      }),
    ),
  );
  r.read.push(
    await rate(() =>
      pipeline(total, inflight, (i) => {
        const o = at(i);
        return o.client.read({ target: o.target, object: o.object, offset: o.offset, length: MiB });
      }),
    ),
  );
  await Promise.all(osts.map((o, s) => o.client.destroy({ target: o.target, objects: [object(s)] })));
}

async function benchClient(r: Result, rep: number): Promise<void> {
  const name = `f${rep}`;
  const dir = await client.lookup(ROOT, ROOT_INO, 'bench');
  const { handle } = await client.create(ROOT, dir.ino, name, 0o644, 2);
  r.write.push(await rate(() => pipeline(total, inflight, (i) => client.write(handle, i * MiB, payload))));
  r.read.push(await rate(() => pipeline(total, inflight, (i) => client.read(handle, i * MiB, MiB))));
  await client.release(handle);
  await client.unlink(ROOT, dir.ino, name);
}

try {
  await client.mkdir(ROOT, ROOT_INO, 'bench', 0o755);
  await setstripePath(client, '/bench', { stripeCount: 4, stripeSize: MiB });
  for (let rep = 0; rep < reps; rep++) {
    const runs = [
      () => benchFile(results['file']!),
      () => benchOsts(results['osts']!, rep),
      () => benchClient(results['client']!, rep),
    ];
    for (let k = 0; k < runs.length; k++) await runs[(rep + k) % runs.length]!();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `${total} MiB per run, 1 MiB requests, ${inflight} in flight, 4 stripes of 1 MiB, ${reps} interleaved reps, medians (MiB/s):`,
  );
  const labels: Record<string, string> = {
    file: 'local file',
    osts: 'OssClient x4',
    client: 'LustreClient',
  };
  const base = results['file']!;
  const raw = results['osts']!;
  for (const [name, r] of Object.entries(results)) {
    const w = median(r.write);
    const rd = median(r.read);
    console.log(
      `${labels[name]!.padEnd(13)} write ${w.toFixed(0).padStart(6)} (x${(w / median(base.write)).toFixed(2)} file, x${(w / median(raw.write)).toFixed(2)} OSTs)` +
        `   read ${rd.toFixed(0).padStart(6)} (x${(rd / median(base.read)).toFixed(2)} file, x${(rd / median(raw.read)).toFixed(2)} OSTs)` +
        `   [writes: ${r.write.map((x) => x.toFixed(0)).join(' ')}; reads: ${r.read.map((x) => x.toFixed(0)).join(' ')}]`,
    );
  }
} finally {
  await client.close();
  await cluster.close();
}
