// Benchmark: namespace creates per second through GroupCommit, one transaction per mutation vs group commit, NORMAL vs FULL.
// Usage: node bench/mds-commit-bench.ts [seconds per case=2] [repetitions=3]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GroupCommit } from '../src/lustre/mds/commit.ts';
import { Effects } from '../src/lustre/mds/inodes.ts';
import { DEFAULT_POLICY, LayoutAllocator } from '../src/lustre/mds/layout.ts';
import { Namespace } from '../src/lustre/mds/namespace.ts';
import type { Synchronous } from '../src/lustre/mds/schema.ts';
import { Store } from '../src/lustre/mds/store.ts';
import { ROOT_INO } from '../src/lustre/types.ts';
import { fourOsts, ROOT } from '../test/lustre/mds-fixtures.ts';

const seconds = Number(process.argv[2] ?? 2);
const reps = Number(process.argv[3] ?? 3);

async function run(
  sync: Synchronous,
  grouped: boolean,
  concurrency: number,
): Promise<{ ops: number; txs: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-bench-commit-'));
  const store = new Store(join(dir, 'mdt.db'), { synchronous: sync });
  const commit = new GroupCommit(store.db, { grouped });
  const osts = fourOsts();
  const ns = new Namespace({
    store,
    clock: Date.now,
    layouts: new LayoutAllocator(1),
    defaultPolicy: DEFAULT_POLICY,
    osts: () => osts,
  });
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  const worker = async (w: number) => {
    while (performance.now() < end) {
      const name = `w${w}-${n++}`;
      const op = { cred: ROOT, client: 'bench', host: 'node-a', fx: new Effects() };
      await commit.apply(() => ns.create(op, ROOT_INO, name, 0o644, true, false, 0));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsed = (performance.now() - start) / 1000;
  const out = { ops: n / elapsed, txs: commit.stats.commits / elapsed };
  store.close();
  await rm(dir, { recursive: true, force: true });
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cases: [Synchronous, boolean, number][] = [];
for (const sync of ['NORMAL', 'FULL'] as const)
  for (const c of [1, 16]) for (const grouped of [false, true]) cases.push([sync, grouped, c]);
const results = new Map<string, { ops: number[]; txs: number[] }>();
for (let r = 0; r < reps; r++) {
  for (const [sync, grouped, c] of cases) {
    const key = `${sync.padEnd(6)} concurrency ${String(c).padStart(2)} ${grouped ? 'group commit' : 'tx per op   '}`;
    const res = await run(sync, grouped, c);
    const acc = results.get(key) ?? { ops: [], txs: [] };
    acc.ops.push(res.ops);
    acc.txs.push(res.txs);
    results.set(key, acc);
  }
}
for (const [key, v] of results) {
  console.log(
    `${key}: ${Math.round(median(v.ops))} creates/s, ${Math.round(median(v.txs))} commits/s (median of ${reps})`,
  );
}
