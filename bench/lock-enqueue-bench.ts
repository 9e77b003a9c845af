// Benchmark (not a test) of a data lock's enqueue and cancel against an in-process cluster: CPU per op of PW (which checks for a pending truncate to finish) against PR in the same run.
// Usage: node bench/lock-enqueue-bench.ts [--ops 3000] [--reps 3]
import { parseArgs } from 'node:util';
import { mdsSession, startTestCluster } from '../test/lustre/test-cluster.ts';

const { values } = parseArgs({
  options: { ops: { type: 'string', default: '3000' }, reps: { type: 'string', default: '3' } },
});
const ops = Number(values.ops);
const reps = Number(values.reps);
const cluster = await startTestCluster({ ossCount: 1 });
const s = await mdsSession(cluster, 'bench');
try {
  const cred = { uid: 0, gid: 0, groups: [] };
  const f = await s.mutate('create', {
    cred,
    parent: 1,
    name: 'f',
    mode: 0o644,
    exclusive: true,
    open: false,
    flags: 0,
  });
  const ino = f.attr.ino;
  /** CPU microseconds of this process (client and servers) per enqueue + cancel. */
  const run = async (mode: 'PR' | 'PW'): Promise<number> => {
    const t0 = process.cpuUsage();
    for (let i = 0; i < ops; i++) {
      const { id } = await s.call('lockEnqueue', { ino, kind: 'data', mode });
      await s.call('lockCancel', { id });
    }
    const c = process.cpuUsage(t0);
    return (c.user + c.system) / ops;
  };
  await run('PW');
  await run('PR');
  const pr: number[] = [];
  const pw: number[] = [];
  for (let k = 0; k < reps; k++) {
    pr.push(await run('PR'));
    pw.push(await run('PW'));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const [a, b] = [median(pr), median(pw)];
  console.log(
    `data lock enqueue+cancel, CPU us/op (median of ${reps} x ${ops}): PR ${a.toFixed(1)}, PW ${b.toFixed(1)}, PW/PR ${(b / a).toFixed(3)}`,
  );
} finally {
  s.close();
  await cluster.close();
}
