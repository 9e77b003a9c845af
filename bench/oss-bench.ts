// Benchmark (not a test): OSS write/read throughput with 1 MiB payloads, 8 in flight on one connection,
// over TCP and over the unix socket, against writing/reading the same bytes to a file in the same
// directory directly from this process. Interleaved repetitions, medians, ratios. A null RPC server
// (no disk; it drops writes and answers reads from memory) in another process shows the ceiling of
// the wire protocol on this machine in the same run.
//
//   node bench/oss-bench.ts [--mib 512] [--reps 5] [--inflight 8] [--dir /tmp]
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { configureLogging } from '../src/lib/log.ts';
import { announceReady, startChild } from '../src/lib/supervisor.ts';
import { OssClient } from '../src/lustre/protocol/oss-client.ts';
import { RpcClient } from '../src/lustre/protocol/rpc-client.ts';
import { Reply, RpcServer } from '../src/lustre/protocol/rpc-server.ts';

const MiB = 1 << 20;
const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '512' },
    reps: { type: 'string', default: '5' },
    inflight: { type: 'string', default: '8' },
    dir: { type: 'string', default: os.tmpdir() },
    'serve-null': { type: 'boolean', default: false },
  },
});
if (values['serve-null']) await serveNull();
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
  args: [path.join(import.meta.dirname, '../test/lustre/oss-process.ts'), JSON.stringify(opts)],
  logFile: path.join(root, 'oss.log'),
});
const nullChild = await startChild({
  name: 'null-rpc',
  command: process.execPath,
  args: [import.meta.filename, '--serve-null'],
  logFile: path.join(root, 'null.log'),
});
const nullRpc = new RpcClient({ address: nullChild.ready.address });
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
  null: { write: [], read: [] },
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

async function benchNull(r: Result): Promise<void> {
  r.write.push(await timed(() => pipeline(total, inflight, () => nullRpc.call('write', {}, { payload }))));
  r.read.push(await timed(() => pipeline(total, inflight, () => nullRpc.call('read', {}))));
}

/** Child mode: an RPC server with no disk behind it, on TCP. */
async function serveNull(): Promise<never> {
  const server = new RpcServer('null-rpc');
  const data = randomBytes(MiB);
  server.handle('write', async () => ({ written: MiB }));
  server.handle('read', async () => new Reply({ length: MiB }, data));
  announceReady({ address: await server.listen({ host: '127.0.0.1', port: 0 }) });
  return await new Promise<never>(() => {});
}

try {
  for (let rep = 0; rep < reps; rep++) {
    const runs = [
      () => benchFile(results['file']!),
      () => benchOss(tcp, results['tcp']!, rep),
      () => benchOss(unix, results['unix']!, rep),
      () => benchNull(results['null']!),
    ];
    for (let k = 0; k < runs.length; k++) await runs[(rep + k) % runs.length]!();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = results['file']!;
  console.log(
    `${total} MiB per run, 1 MiB payloads, ${inflight} in flight, ${reps} interleaved reps, medians (MiB/s):`,
  );
  const labels: Record<string, string> = {
    file: 'file (baseline)',
    tcp: 'OSS over TCP',
    unix: 'OSS over unix',
    null: 'null RPC, TCP',
  };
  const ceiling = results['null']!;
  for (const [name, r] of Object.entries(results)) {
    const w = median(r.write);
    const rd = median(r.read);
    console.log(
      `${labels[name]!.padEnd(16)} write ${w.toFixed(0).padStart(6)} (x${(w / median(base.write)).toFixed(2)})` +
        `   read ${rd.toFixed(0).padStart(6)} (x${(rd / median(base.read)).toFixed(2)})` +
        `   vs null RPC: write x${(w / median(ceiling.write)).toFixed(2)} read x${(rd / median(ceiling.read)).toFixed(2)}` +
        `   [writes: ${r.write.map((x) => x.toFixed(0)).join(' ')}; reads: ${r.read.map((x) => x.toFixed(0)).join(' ')}]`,
    );
  }
} finally {
  tcp.close();
  unix.close();
  nullRpc.close();
  await child.stop();
  await nullChild.stop(1000);
  await fs.rm(root, { recursive: true, force: true });
}
