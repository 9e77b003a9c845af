// Benchmark (not a test): OSS write/read throughput with 1 MiB payloads, 8 in flight on one connection,
// over TCP and over the unix socket, against writing/reading the same bytes to a file in the same
// directory directly from this process. Interleaved repetitions, medians, ratios.
//
//   node src/lustre/oss/bench-oss.ts [--mib 512] [--reps 5] [--inflight 8] [--dir /tmp]
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { configureLogging } from '../../lib/log.ts';
import { startChild } from '../../lib/supervisor.ts';
import { OssClient } from './client.ts';

const MiB = 1 << 20;
const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '512' },
    reps: { type: 'string', default: '5' },
    inflight: { type: 'string', default: '8' },
    dir: { type: 'string', default: os.tmpdir() },
  },
});
const total = Number(values.mib);
const reps = Number(values.reps);
const inflight = Number(values.inflight);
configureLogging({ level: 'warn' });

/** Runs fn(0..n-1) with at most `width` in flight. */
async function pipeline(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (total * MiB) / MiB / ((performance.now() - t0) / 1000);
}

const root = await fs.mkdtemp(path.join(values.dir, 'nacre-bench-oss-'));
const dataDir = path.join(root, 'data');
const opts = {
  dataDir,
  name: 'bench',
  host: 'bench',
  listen: { host: '127.0.0.1', port: 0 },
  unixSocket: path.join(root, 'oss.sock'),
};
const child = await startChild({
  name: 'oss',
  command: process.execPath,
  args: [path.join(import.meta.dirname, 'main-for-tests.ts'), JSON.stringify(opts)],
  logFile: path.join(root, 'oss.log'),
});
const payload = randomBytes(MiB);
const target = 'bench-OST0000';
const tcp = new OssClient({ address: child.ready.address });
const unix = new OssClient({
  address: child.ready.address,
  localAddress: String(child.ready['localAddress']),
});
await tcp.createTarget(target, 4 * total * MiB);

type Result = { write: number[]; read: number[] };
const results: Record<string, Result> = {
  file: { write: [], read: [] },
  tcp: { write: [], read: [] },
  unix: { write: [], read: [] },
};

async function benchFile(r: Result): Promise<void> {
  const file = path.join(dataDir, 'baseline.bin');
  const h = await fs.open(file, 'w+');
  try {
    r.write.push(await timed(() => pipeline(total, inflight, (i) => h.write(payload, 0, MiB, i * MiB))));
    const bufs = Array.from({ length: inflight }, () => Buffer.allocUnsafe(MiB));
    r.read.push(
      await timed(() => pipeline(total, inflight, (i) => h.read(bufs[i % inflight]!, 0, MiB, i * MiB))),
    );
  } finally {
    await h.close();
    await fs.rm(file);
  }
}

async function benchOss(c: OssClient, r: Result, rep: number): Promise<void> {
  const object = `${rep + 1}.0`;
  r.write.push(
    await timed(() =>
      pipeline(total, inflight, (i) => c.write({ target, object, offset: i * MiB }, payload)),
    ),
  );
  r.read.push(
    await timed(() =>
      pipeline(total, inflight, (i) => c.read({ target, object, offset: i * MiB, length: MiB })),
    ),
  );
  await c.destroy({ target, objects: [object] });
}

try {
  for (let rep = 0; rep < reps; rep++) {
    const runs = [
      () => benchFile(results['file']!),
      () => benchOss(tcp, results['tcp']!, rep),
      () => benchOss(unix, results['unix']!, rep),
    ];
    for (let k = 0; k < runs.length; k++) await runs[(rep + k) % runs.length]!();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = results['file']!;
  console.log(
    `${total} MiB per run, 1 MiB payloads, ${inflight} in flight, ${reps} interleaved reps, medians (MiB/s):`,
  );
  for (const [name, r] of Object.entries(results)) {
    const w = median(r.write);
    const rd = median(r.read);
    console.log(
      `${name.padEnd(5)} write ${w.toFixed(0).padStart(6)} (x${(w / median(base.write)).toFixed(2)})` +
        `   read ${rd.toFixed(0).padStart(6)} (x${(rd / median(base.read)).toFixed(2)})` +
        `   all writes: ${r.write.map((x) => x.toFixed(0)).join(' ')}`,
    );
  }
} finally {
  tcp.close();
  unix.close();
  await child.stop();
  await fs.rm(root, { recursive: true, force: true });
}
