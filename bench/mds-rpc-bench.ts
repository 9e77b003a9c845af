// Benchmark: create and lookup operations per second through the MDS RPC server on loopback (server in a child process).
// Usage: node bench/mds-rpc-bench.ts [seconds per case=2] [repetitions=3] [NORMAL|FULL] [group|single]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild } from '../src/lib/supervisor.ts';
import { ROOT_INO } from '../src/lustre/types.ts';
import { ROOT, TestMdsClient } from '../test/lustre/mds-fixtures.ts';

const seconds = Number(process.argv[2] ?? 2);
const reps = Number(process.argv[3] ?? 3);
const synchronous = process.argv[4] === 'FULL' ? 'FULL' : 'NORMAL';
const groupCommit = process.argv[5] !== 'single';

const dir = await mkdtemp(join(tmpdir(), 'nacre-bench-rpc-'));
const server = await startChild({
  name: 'mds',
  command: process.execPath,
  args: [
    fileURLToPath(new URL('../test/lustre/mds-process.ts', import.meta.url)),
    JSON.stringify({
      dataDir: join(dir, 'data'),
      destroyLog: join(dir, 'destroyed.jsonl'),
      synchronous,
      groupCommit,
    }),
  ],
  logFile: join(dir, 'mds.log'),
});
const c = new TestMdsClient(server.ready.address, 'bench');

let seq = 0;
async function measure(concurrency: number, op: (w: number) => Promise<unknown>): Promise<number> {
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (performance.now() < end) {
        await op(w);
        n++;
      }
    }),
  );
  return n / ((performance.now() - start) / 1000);
}

const dirIno = (
  await c.call('mkdir', { xid: c.nextXid(), cred: ROOT, parent: ROOT_INO, name: 'bench', mode: 0o755 })
).ino;
const create = () =>
  c.call('create', {
    xid: c.nextXid(),
    cred: ROOT,
    parent: dirIno,
    name: `f${seq++}`,
    mode: 0o644,
    exclusive: true,
    open: false,
    flags: 0,
  });
const lookup = (w: number) => c.call('lookup', { cred: ROOT, parent: dirIno, name: `f${w * 13}` });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results = new Map<string, number[]>();
try {
  for (let r = 0; r < reps; r++) {
    for (const concurrency of [1, 16]) {
      for (const [name, fn] of [
        ['create', create],
        ['lookup', lookup],
      ] as const) {
        const key = `${name} concurrency ${String(concurrency).padStart(2)}`;
        results.set(key, [...(results.get(key) ?? []), await measure(concurrency, fn)]);
      }
    }
  }
  console.log(
    `MDS over loopback TCP, synchronous=${synchronous}, ${groupCommit ? 'group commit' : 'one tx per op'}`,
  );
  for (const [key, v] of results) {
    console.log(
      `${key}: ${Math.round(median(v))} ops/s (median of ${reps}: ${v.map(Math.round).join(', ')})`,
    );
  }
} finally {
  c.close();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
