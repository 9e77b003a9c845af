// Benchmark (not a test) of the S3 data repository against one MinIO in one run: cold reads of released files vs direct parallel
// ranged GETs of the same objects, and export vs direct multipart PUTs of the same data. Prints MiB/s, files/s and ratios (medians).
// Usage: node bench/s3-bench.ts [--large-mib 256] [--large-files 4] [--small-files 1000] [--small-kib 4] [--reps 3] [--phases] [--skip-cold]
//   [--agent-fetch] [--agent-upload | --oss-upload-small] [--reader-process] [--stripe-count N --stripe-size-kib S]
// --phases prints each timed phase's window in process.hrtime microseconds, for bench/profile-summary.ts with --cpu-prof,
// and the CPU seconds each process (this one, the OSSes, MinIO) and the whole machine used in it.
// --stripe-count N --stripe-size-kib S: the cold files' directories are striped so (default: one stripe per file, as imported).
// --reader-process: the cold reads run in a process of their own (bench/s3-reader.ts), as a FUSE daemon's in a deployment;
// by default they run in this process, beside the agent, the MGS and the MDS.
// --agent-fetch: the HSM agent GETs each piece and writes it to the OSTs (the old path) instead of the OSSes fetching it themselves.
// --agent-upload: the HSM agent reads each part of a large file and PUTs it (the old path) instead of the OSSes PUTting it themselves;
// --oss-upload-small: the OSSes PUT the small files too (presigned PutObjects).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startMinio } from '../e2e/harness/minio-server.ts';
import { connectLustre, type LustreClient } from '../src/lustre/client/lustre-client.ts';
import { type ExportOptions, exportPath } from '../src/lustre/hsm/exporter.ts';
import { type FileOutcome, importPrefix, type RepositoryLink } from '../src/lustre/hsm/importer.ts';
import { runRestorer } from '../src/lustre/hsm/restorer.ts';
import { ensureDir, pool } from '../src/lustre/hsm/tree.ts';
import { ROOT_CREDENTIALS } from '../src/lustre/types.ts';
import type { ObjectStore } from '../src/platform/object-store.ts';
import { S3ObjectStore } from '../src/platform/s3-object-store.ts';
import { startTestCluster } from '../test/lustre/test-cluster.ts';
import { cpuBetween, cpuSnapshot } from './proc-cpu.ts';
import { RANGE, readAll, readHead } from './s3-read.ts';

const { values } = parseArgs({
  options: {
    'large-mib': { type: 'string', default: '256' },
    'large-files': { type: 'string', default: '4' },
    'small-files': { type: 'string', default: '1000' },
    'small-kib': { type: 'string', default: '4' },
    reps: { type: 'string', default: '3' },
    phases: { type: 'boolean', default: false },
    'skip-cold': { type: 'boolean', default: false },
    'agent-fetch': { type: 'boolean', default: false },
    'agent-upload': { type: 'boolean', default: false },
    'oss-upload-small': { type: 'boolean', default: false },
    'reader-process': { type: 'boolean', default: false },
    'stripe-count': { type: 'string', default: '0' },
    'stripe-size-kib': { type: 'string', default: '1024' },
  },
});
const MiB = 1024 * 1024;
const largeBytes = Number(values['large-mib']) * MiB;
const largeFiles = Number(values['large-files']);
const smallFiles = Number(values['small-files']);
const smallBytes = Number(values['small-kib']) * 1024;
const reps = Number(values.reps);
const PART = 16 * MiB;
const signal = AbortSignal.timeout(60 * 60_000);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const phases: string[] = [];
async function timed(fn: () => Promise<void>, phase = ''): Promise<number> {
  const cpu = phase && values.phases ? cpuSnapshot() : undefined;
  const [t, us] = [performance.now(), process.hrtime.bigint() / 1000n];
  await fn();
  const seconds = (performance.now() - t) / 1000;
  if (phase) phases.push(`${phase} ${us}-${process.hrtime.bigint() / 1000n}`);
  if (cpu) phases.push(`  cpu ${cpuBetween(cpu, cpuSnapshot())}`);
  return seconds;
}

const minio = await startMinio();
const cluster = await startTestCluster({
  ossCount: 4,
  ostCapacityBytes: 8 * 1024 * MiB,
  ossInChildren: true,
});
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
/** Seconds of every ranged GET, the direct ones and the agent's (to see stalls). */
const gets = { direct: [] as number[], agent: [] as number[] };
const timedGets = (into: number[]): ObjectStore =>
  new Proxy(store, {
    get(target, p) {
      if (p === 'getRange')
        return async (...a: Parameters<ObjectStore['getRange']>) => {
          const t = performance.now();
          const out = await target.getRange(...a);
          into.push((performance.now() - t) / 1000);
          return out;
        };
      const v = Reflect.get(target, p);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
const connect = () =>
  connectLustre({ mgsAddress: cluster.mgsAddress, fsname: cluster.fsname, host: 'bench', signal });
const agent = await connect();
await agent.mds.call('hsmAgentPoll', { timeoutMs: 0 }, signal);
const stopAgent = new AbortController();
const restorer = runRestorer(
  agent,
  timedGets(gets.agent),
  { files: 4, concurrency: 8, partBytes: RANGE, ossFetch: !values['agent-fetch'] },
  stopAgent.signal,
);
const user = await connect();

const directGets = timedGets(gets.direct);
const failures: string[] = [];
/** The direct GETs retry an S3 error once, as the agent's loads do (a loaded machine can see MinIO drop a slow stream). */
let directRetries = 0;
async function retried<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch {
    directRetries++;
    return await fn();
  }
}
const large = Array.from({ length: largeFiles }, () => randomBytes(largeBytes));
const small = Array.from({ length: smallFiles }, () => randomBytes(smallBytes));

async function writeFile(c: LustreClient, dir: number, name: string, data: Buffer): Promise<void> {
  const { handle } = await c.create(ROOT_CREDENTIALS, dir, name, 0o100644, 0o1, signal);
  for (let off = 0; off < data.length; off += 4 * MiB)
    await c.write(handle, off, data.subarray(off, off + 4 * MiB), signal);
  await c.release(handle, signal);
}

/** The cold reads: in this process, or with --reader-process in a reader process of their own. */
const reader = values['reader-process'] ? await startReader() : undefined;
async function startReader() {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, 's3-reader.ts'), cluster.mgsAddress, cluster.fsname],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const answer = async () => {
    const { value, done } = await lines.next();
    if (done || value.startsWith('error')) throw new Error(`the reader process: ${value ?? 'exited'}`);
    return value;
  };
  await answer(); // ready
  return {
    ask: async (cmd: string) => {
      child.stdin.write(`${cmd}\n`);
      await answer();
    },
    stop: async () => {
      child.stdin.end('exit\n');
      await once(child, 'exit');
    },
  };
}
const coldRead = (paths: string[], size: number) =>
  reader
    ? reader.ask(`all ${size} ${paths.join(' ')}`)
    : pool(paths, 4, (p) => readAll(user, p, size, signal));
const coldHead = (path: string) => (reader ? reader.ask(`head ${path}`) : readHead(user, path, signal));

/** The directory cold files are imported into, striped as --stripe-count and --stripe-size-kib say. */
async function coldDir(path: string): Promise<void> {
  const stripeCount = Number(values['stripe-count']);
  if (stripeCount === 0) return;
  const dir = await ensureDir(user, path, signal);
  const stripeSize = Number(values['stripe-size-kib']) * 1024;
  await user.setstripe(ROOT_CREDENTIALS, dir.ino, { stripeCount, stripeSize, stripeOffset: -1 }, signal);
}

const link = (prefix: string, fsPath: string): RepositoryLink => ({
  bucket: 'bench',
  prefix,
  fsPath,
  chunkBytes: 1024 * MiB,
});
const firstByte: number[] = [];
const wholeFile: number[] = [];
const rows: Record<string, { base: number[]; nacre: number[] }> = {
  'cold read, large files': { base: [], nacre: [] },
  'export, large files': { base: [], nacre: [] },
  'export, small files': { base: [], nacre: [] },
};

for (let rep = 0; rep < reps; rep++) {
  // Direct multipart PUTs of the large files, then direct PUTs of the small ones: the baselines.
  rows['export, large files']!.base.push(
    await timed(
      () =>
        pool(large.keys(), 4, async (i) => {
          await store.putMultipart(
            'bench',
            `direct${rep}/large/${i}`,
            largeBytes,
            async (o, l) => large[i]!.subarray(o, o + l),
            {},
            { partSize: PART, concurrency: 4 },
            signal,
          );
        }),
      'direct-put-large',
    ),
  );
  rows['export, small files']!.base.push(
    await timed(
      () =>
        pool(
          small.keys(),
          16,
          async (i) => void (await store.put('bench', `direct${rep}/small/${i}`, small[i]!, {}, signal)),
        ),
      'direct-put-small',
    ),
  );
  // The same data written into the file system (not timed), then exported as tasks export (the production defaults).
  const dir = await ensureDir(user, `/out${rep}/large`, signal);
  for (const [i, d] of large.entries()) await writeFile(user, dir.ino, String(i), d);
  const sdir = await ensureDir(user, `/out${rep}/small`, signal);
  await pool(small.keys(), 16, (i) => writeFile(user, sdir.ino, String(i), small[i]!));
  const noop = () => {};
  const exportOpts: ExportOptions = values['agent-upload']
    ? { ossUpload: 'none' }
    : values['oss-upload-small']
      ? { ossUpload: 'all' }
      : {};
  // A file that failed to export would make the export look fast: every failure is counted and printed.
  const counted = (o: FileOutcome) => {
    if (!o.ok) failures.push(`${o.path}: ${o.errorCode ?? '?'}`);
  };
  rows['export, large files']!.nacre.push(
    await timed(
      () =>
        exportPath(
          agent,
          store,
          link(`exported${rep}/`, `/out${rep}`),
          `/out${rep}/large`,
          exportOpts,
          noop,
          counted,
          signal,
        ),
      'export-large',
    ),
  );
  rows['export, small files']!.nacre.push(
    await timed(
      () =>
        exportPath(
          agent,
          store,
          link(`exported${rep}/`, `/out${rep}`),
          `/out${rep}/small`,
          exportOpts,
          noop,
          counted,
          signal,
        ),
      'export-small',
    ),
  );
  if (values['skip-cold']) continue;
  // Cold reads: the direct objects imported as released files, read whole through a client; vs ranged GETs of them.
  await coldDir(`/cold${rep}`);
  await importPrefix(agent, store, link(`direct${rep}/large/`, `/cold${rep}`), '', noop, noop, signal);
  rows['cold read, large files']!.base.push(
    await timed(
      () =>
        pool(large.keys(), 4, async (i) => {
          const offsets = Array.from({ length: Math.ceil(largeBytes / RANGE) }, (_, k) => k * RANGE);
          await pool(
            offsets,
            8,
            async (o) =>
              void (await retried(() =>
                directGets.getRange('bench', `direct${rep}/large/${i}`, o, RANGE, signal),
              )),
          );
        }),
      'direct-get',
    ),
  );
  rows['cold read, large files']!.nacre.push(
    await timed(
      () =>
        coldRead(
          [...large.keys()].map((i) => `/cold${rep}/${i}`),
          largeBytes,
        ),
      'cold-read',
    ),
  );
  // Time to the first 4 KiB of a cold file vs reading one whole cold file (fresh imports of the same objects).
  await coldDir(`/ttfb${rep}`);
  await importPrefix(agent, store, link(`direct${rep}/large/`, `/ttfb${rep}`), '', noop, noop, signal);
  firstByte.push(await timed(() => coldHead(`/ttfb${rep}/0`)));
  if (largeFiles > 1) wholeFile.push(await timed(() => coldRead([`/ttfb${rep}/1`], largeBytes)));
}

const totalLarge = (largeBytes * largeFiles) / MiB;
console.log(
  `S3 data repository vs direct S3, MinIO on loopback, ${reps} reps (medians); large: ${largeFiles} × ${largeBytes / MiB} MiB, small: ${smallFiles} × ${smallBytes / 1024} KiB; cold reads fetched by ${values['agent-fetch'] ? 'the agent' : 'the OSSes'}, exports sent by ${values['agent-upload'] ? 'the agent' : values['oss-upload-small'] ? 'the OSSes' : 'the OSSes (large) and the agent (small)'}, read ${reader ? 'in a process of their own' : "in the benchmark's process"}${Number(values['stripe-count']) ? `, ${values['stripe-count']} stripes of ${values['stripe-size-kib']} KiB` : ''}`,
);
for (const [name, r] of Object.entries(rows)) {
  if (r.base.length === 0) continue;
  const [b, n] = [median(r.base), median(r.nacre)];
  const unit = name.includes('small')
    ? (s: number) => `${(smallFiles / s).toFixed(0)} files/s`
    : (s: number) => `${(totalLarge / s).toFixed(0)} MiB/s`;
  console.log(
    `${name.padEnd(24)} direct ${unit(b).padStart(12)}   nacre ${unit(n).padStart(12)}   ratio ${(b / n).toFixed(2)}`,
  );
}

if (wholeFile.length > 0)
  console.log(
    `first 4 KiB of a cold ${largeBytes / MiB} MiB file ${(median(firstByte) * 1000).toFixed(0)} ms, the whole file ${(median(wholeFile) * 1000).toFixed(0)} ms, ratio ${(median(firstByte) / median(wholeFile)).toFixed(3)}`,
  );
const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))] ?? 0;
for (const [who, xs] of Object.entries(gets))
  console.log(
    `${RANGE / MiB} MiB GETs, ${who.padEnd(6)}: ${xs.length}, median ${pct(xs, 0.5).toFixed(2)} s, p99 ${pct(xs, 0.99).toFixed(2)} s, max ${Math.max(0, ...xs).toFixed(2)} s, over 2 s: ${xs.filter((x) => x > 2).length}`,
  );
if (directRetries > 0) console.log(`direct GETs retried: ${directRetries}`);
if (failures.length > 0)
  console.log(`EXPORT FAILURES (${failures.length}): ${failures.slice(0, 5).join(', ')}`);
if (values.phases) for (const p of phases) console.log(`phase ${p}`);
await reader?.stop();
stopAgent.abort();
await restorer;
await user.close();
await agent.close();
store.close();
await cluster.close();
await minio.stop();
