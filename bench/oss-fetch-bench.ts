// Benchmark (not a test) of one OSS's two halves of a cold read, CPU seconds per GiB of each process: fetchRange of presigned GETs into an object, then reads of it.
// Usage: node bench/oss-fetch-bench.ts [--mib 1024] [--piece-mib 8] [--inflight 8] [--reps 3]
// One MinIO, one OSS in a child process, this process as the HSM agent (presigning) and the reader. Each rep fetches
// the object into a fresh OST object, then reads it back whole; prints wall MiB/s and CPU-s/GiB of this process, the
// OSS and MinIO per phase (medians), from /proc.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startMinio } from '../e2e/harness/minio-server.ts';
import { pool } from '../src/lustre/hsm/tree.ts';
import { S3ObjectStore } from '../src/platform/s3-object-store.ts';
import { startTestCluster } from '../test/lustre/test-cluster.ts';

/** [user, sys] CPU seconds per command name of this process and its descendants, from /proc. */
function cpuSnapshot(): Map<string, [number, number]> {
  const all = new Map<number, { ppid: number; name: string; user: number; sys: number }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = s.lastIndexOf(')');
      const f = s.slice(close + 2).split(' ');
      const name =
        Number(d) === process.pid ? 'bench' : s.slice(s.indexOf('(') + 1, close).replace('MainThread', 'oss');
      all.set(Number(d), { ppid: Number(f[1]), name, user: Number(f[11]) / 100, sys: Number(f[12]) / 100 });
    } catch {}
  }
  const mine = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, s] of all)
      if (!mine.has(pid) && mine.has(s.ppid)) {
        mine.add(pid);
        grew = true;
      }
  }
  const out = new Map<string, [number, number]>();
  for (const pid of mine) {
    const s = all.get(pid);
    if (!s) continue;
    const [u, y] = out.get(s.name) ?? [0, 0];
    out.set(s.name, [u + s.user, y + s.sys]);
  }
  return out;
}
type CpuSnapshot = ReturnType<typeof cpuSnapshot>;

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '1024' },
    'piece-mib': { type: 'string', default: '8' },
    inflight: { type: 'string', default: '8' },
    reps: { type: 'string', default: '3' },
  },
});
const MiB = 1024 * 1024;
const total = Number(values.mib) * MiB;
const piece = Number(values['piece-mib']) * MiB;
const inflight = Number(values.inflight);
const signal = AbortSignal.timeout(30 * 60_000);

const minio = await startMinio();
const creds = { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey };
const admin = new S3Client({
  endpoint: minio.endpoint,
  region: minio.region,
  forcePathStyle: true,
  credentials: creds,
});
await admin.send(new CreateBucketCommand({ Bucket: 'bench' }));
admin.destroy();
const store = new S3ObjectStore({ endpoint: minio.endpoint, region: minio.region, credentials: creds });
const data = randomBytes(total);
await store.putMultipart(
  'bench',
  'big',
  total,
  async (o, l) => data.subarray(o, o + l),
  {},
  { partSize: 16 * MiB, concurrency: 4 },
  signal,
);
const etag = (await store.head('bench', 'big', signal))!.etag;
const cluster = await startTestCluster({
  ossCount: 1,
  ostCapacityBytes: 4 * total + 64 * MiB,
  ossInChildren: true,
});
const { client, target } = await cluster.ossFor(0);

const offsets = Array.from({ length: Math.ceil(total / piece) }, (_, i) => i * piece);
const cpuOf = (a: CpuSnapshot, b: CpuSnapshot) => {
  const out: Record<string, number> = {};
  for (const [n, [u, y]] of b) {
    const [u0, y0] = a.get(n) ?? [0, 0];
    out[n] = u - u0 + y - y0;
    out[`${n} sys`] = y - y0;
  }
  return out;
};
const results: Record<string, { mibs: number[]; cpu: Record<string, number>[] }> = {
  fetch: { mibs: [], cpu: [] },
  read: { mibs: [], cpu: [] },
};
async function phase(name: string, fn: () => Promise<void>): Promise<void> {
  const [c0, t0] = [cpuSnapshot(), performance.now()];
  await fn();
  const [c1, t1] = [cpuSnapshot(), performance.now()];
  results[name]!.mibs.push(total / MiB / ((t1 - t0) / 1000));
  results[name]!.cpu.push(cpuOf(c0, c1));
}

for (let rep = 0; rep < Number(values.reps); rep++) {
  const object = `${rep + 1}.0`;
  await phase('fetch', () =>
    pool(offsets, inflight, async (o) => {
      const length = Math.min(piece, total - o);
      const source = await store.presignRange('bench', 'big', o, length, etag, 900);
      const out = await client.fetchRange(
        { target, object, offset: o, length, source, timeoutMs: 120_000 },
        signal,
      );
      if (!('fetched' in out) || out.fetched !== length)
        throw new Error(`fetch at ${o}: ${JSON.stringify(out)}`);
    }),
  );
  await phase('read', () =>
    pool(offsets, inflight, async (o) => {
      const length = Math.min(piece, total - o);
      const got = await client.read({ target, object, offset: o, length }, signal);
      if (got.length !== length || (o === 0 && !got.equals(data.subarray(0, length))))
        throw new Error(`read at ${o}: ${got.length} bytes`);
    }),
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const gib = total / (1024 * MiB);
console.log(
  `one OSS, ${total / MiB} MiB in ${piece / MiB} MiB pieces, ${inflight} in flight, ${values.reps} reps (medians)`,
);
for (const [name, r] of Object.entries(results)) {
  const names = [...new Set(r.cpu.flatMap((c) => Object.keys(c)))];
  const per = names
    .map((n) => [n, median(r.cpu.map((c) => c[n] ?? 0)) / gib] as const)
    .filter(([, s]) => s >= 0.01)
    .sort((a, b) => b[1] - a[1]);
  console.log(
    `${name.padEnd(6)} ${median(r.mibs).toFixed(0).padStart(5)} MiB/s   CPU-s/GiB: ${per.map(([n, s]) => `${n} ${s.toFixed(2)}`).join(', ')}`,
  );
}
client.close();
store.close();
await cluster.close();
await minio.stop();
