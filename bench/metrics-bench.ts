// Benchmark (not a test): what the servers' Prometheus metrics cost per RPC. Small calls (the worst
// case: no disk, no payload) through a real RpcServer with the metrics observer on and off, in
// interleaved repetitions, medians and the ratio; plus one 1 MiB-payload case.
//
//   node bench/metrics-bench.ts [--calls 20000] [--reps 5] [--inflight 16]
import { parseArgs } from 'node:util';
import { configureLogging } from '../src/lib/log.ts';
import { createServerMetrics } from '../src/lustre/cluster/server-metrics.ts';
import { RpcClient } from '../src/lustre/protocol/rpc-client.ts';
import { Reply, RpcServer } from '../src/lustre/protocol/rpc-server.ts';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '20000' },
    reps: { type: 'string', default: '5' },
    inflight: { type: 'string', default: '16' },
  },
});
const calls = Number(values.calls);
const reps = Number(values.reps);
const inflight = Number(values.inflight);
configureLogging({ level: 'warn' });

const payload = Buffer.alloc(1 << 20, 7);
const server = new RpcServer('oss');
server.handle('getattr', async () => ({ size: 1 }));
server.handle('read', async () => new Reply({ length: payload.length }, payload));
const address = await server.listen({ host: '127.0.0.1', port: 0 });
const client = new RpcClient({ address });

async function run(method: string, n: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < n) {
      next++;
      await client.call(method, {
        target: 'bench-OST0000',
        object: '1.0',
        offset: 0,
        length: payload.length,
      });
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  return n / ((performance.now() - started) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results: Record<string, number[]> = {};
await run('getattr', 2000); // warm up
for (let r = 0; r < reps; r++) {
  // Alternate which goes first, so drift in the machine's load does not favour one side.
  for (const on of r % 2 === 0 ? [false, true] : [true, false]) {
    const metrics = on ? createServerMetrics('oss', 'bench') : undefined;
    for (const [method, n] of [
      ['getattr', calls],
      ['read', Math.max(200, calls / 50)],
    ] as const) {
      const key = `${method} metrics=${on ? 'on' : 'off'}`;
      const list = results[key] ?? [];
      list.push(await run(method, n));
      results[key] = list;
    }
    metrics?.close();
  }
}
for (const method of ['getattr', 'read']) {
  const off = median(results[`${method} metrics=off`]!);
  const on = median(results[`${method} metrics=on`]!);
  const unit = method === 'read' ? ' (1 MiB replies)' : ' (no payload)';
  console.log(
    `${method}${unit}: ${off.toFixed(0)} calls/s without metrics, ${on.toFixed(0)} with: ratio ${(on / off).toFixed(2)}`,
  );
}
client.close();
await server.close();
