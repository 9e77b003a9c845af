// Benchmark (not a test): what the data plane's authentication costs. Three modes in interleaved
// repetitions, each against the plaintext-without-key baseline of the same run:
//   1. transport: connection set-up (connect + handshake + first call) and 1 MiB reads over one
//      RpcServer/RpcClient pair;
//   2. a real file system per mode (MGS, MDS, two OSS, the striped client): 1000 getattr and a 1 GiB read.
//
//   node bench/auth-bench.ts [--reps 3] [--connections 200] [--size-mib 1024] [--no-fs]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { configureLogging } from '../src/lib/log.ts';
import { connectLustre, type LustreClient } from '../src/lustre/client/lustre-client.ts';
import { configureDataPlane, type DataPlaneSecurity } from '../src/lustre/protocol/handshake.ts';
import { RpcClient } from '../src/lustre/protocol/rpc-client.ts';
import { Reply, RpcServer } from '../src/lustre/protocol/rpc-server.ts';
import { ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../src/lustre/types.ts';
import { startTestCluster, type TestCluster } from '../test/lustre/test-cluster.ts';
import { makeTlsFiles, readTlsFiles } from '../test/lustre/tls-files.ts';
import { median, ratio } from './stats.ts';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    connections: { type: 'string', default: '200' },
    'size-mib': { type: 'string', default: '1024' },
    'no-fs': { type: 'boolean', default: false },
  },
});
const reps = Number(values.reps);
const connections = Number(values.connections);
const sizeMiB = Number(values['size-mib']);
configureLogging({ level: 'warn' });

const MODES = ['none', 'key', 'key+tls'] as const;
type Mode = (typeof MODES)[number];
const dir = await mkdtemp(join(tmpdir(), 'nacre-auth-bench-'));
const tlsFiles = await readTlsFiles(await makeTlsFiles(dir));
const KEY = Buffer.from('b'.repeat(64));
const security = (m: Mode): DataPlaneSecurity =>
  m === 'none' ? {} : m === 'key' ? { key: KEY } : { key: KEY, tls: tlsFiles };
const results = new Map<string, number[]>();
const record = (what: string, mode: Mode, v: number) =>
  results.set(`${what}|${mode}`, [...(results.get(`${what}|${mode}`) ?? []), v]);

// 1. Transport.
const payload = Buffer.alloc(1 << 20, 7);
const servers = new Map<Mode, { server: RpcServer; address: string }>();
for (const m of MODES) {
  const server = new RpcServer('oss', { security: security(m) });
  server.handle('null', async () => null);
  server.handle('read', async () => new Reply({ length: payload.length }, payload));
  servers.set(m, { server, address: await server.listen({ host: '127.0.0.1', port: 0 }) });
}

async function setupMs(m: Mode): Promise<number> {
  const { address } = servers.get(m)!;
  const started = performance.now();
  for (let i = 0; i < connections; i++) {
    const c = new RpcClient({ address, security: security(m) });
    await c.call('null', {});
    c.close();
  }
  return (performance.now() - started) / connections;
}

async function readMiBps(m: Mode, mib: number): Promise<number> {
  const c = new RpcClient({ address: servers.get(m)!.address, security: security(m) });
  await c.call('null', {});
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next++ < mib) await c.call('read', {});
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  c.close();
  return mib / ((performance.now() - started) / 1000);
}

for (let r = 0; r < reps; r++) {
  const order = r % 2 === 0 ? MODES : [...MODES].reverse();
  for (const m of order) {
    record('connection set-up (ms)', m, await setupMs(m));
    record('RPC 1 MiB reads (MiB/s)', m, await readMiBps(m, 1024));
  }
}
for (const { server } of servers.values()) await server.close();

// 2. A real file system per mode (MGS, MDS, 2 OSS in this process, the striped client over TCP).
if (!values['no-fs']) {
  const clusters = new Map<Mode, { cluster: TestCluster; client: LustreClient; ino: number }>();
  try {
    for (const m of MODES) {
      configureDataPlane(security(m)); // servers and the client take the process's at start
      const cluster = await startTestCluster({ ossCount: 2, ostCapacityBytes: (sizeMiB + 256) << 20 });
      const client = await connectLustre({
        mgsAddress: cluster.mgsAddress,
        fsname: cluster.fsname,
        host: 'b',
      });
      const { handle, attr } = await client.create(ROOT, ROOT_INO, 'big', 0o644, 2);
      let next = 0;
      const worker = async () => {
        while (next < sizeMiB) await client.write(handle, next++ << 20, payload);
      };
      await Promise.all(Array.from({ length: 4 }, worker));
      await client.release(handle);
      clusters.set(m, { cluster, client, ino: attr.ino });
    }
    for (let r = 0; r < reps; r++) {
      for (const m of r % 2 === 0 ? MODES : [...MODES].reverse()) {
        configureDataPlane(security(m)); // a reconnection during the run uses this mode's
        const { client, ino } = clusters.get(m)!;
        let started = performance.now();
        for (let i = 0; i < 1000; i++) await client.getattr(ino);
        record('fs: 1000 getattr (ms)', m, performance.now() - started);
        const handle = await client.open(ROOT, ino, 0);
        started = performance.now();
        let next = 0;
        const worker = async () => {
          while (next < sizeMiB) await client.read(handle, next++ << 20, 1 << 20);
        };
        await Promise.all(Array.from({ length: 4 }, worker));
        record(`fs: ${sizeMiB} MiB read (MiB/s)`, m, sizeMiB / ((performance.now() - started) / 1000));
        await client.release(handle);
      }
    }
  } finally {
    for (const { cluster, client } of clusters.values()) {
      await client.close();
      await cluster.close();
    }
  }
}

const whats = [...new Set([...results.keys()].map((k) => k.split('|')[0]!))];
for (const what of whats) {
  const baseMode: Mode = results.has(`${what}|none`) ? 'none' : 'key';
  const base = median(results.get(`${what}|${baseMode}`)!);
  const cells = MODES.filter((m) => results.has(`${what}|${m}`)).map((m) => {
    const v = median(results.get(`${what}|${m}`)!);
    return `${m} ${v.toFixed(2)} (×${ratio(v, base).toFixed(2)})`;
  });
  console.log(`${what}, median of ${reps}, ratio vs ${baseMode}: ${cells.join(', ')}`);
}
await rm(dir, { recursive: true, force: true });
