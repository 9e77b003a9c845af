// Benchmark (not a test) of dropping gone mounts' replies beside a stream of mkdirs: one mount per transaction (the sweep) vs all in one transaction; prints mkdir latency and ratios to the same run's no-sweep baseline.
// Usage: node bench/reply-sweep-bench.ts [--mounts 200] [--per-mount 1024]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Mdt } from '../src/lustre/mds/mdt.ts';
import { fourOsts, ROOT } from '../test/lustre/mds-fixtures.ts';

const { values } = parseArgs({
  options: { mounts: { type: 'string', default: '200' }, 'per-mount': { type: 'string', default: '1024' } },
});
const mounts = Number(values.mounts);
const perMount = Number(values['per-mount']);
const dir = await mkdtemp(join(tmpdir(), 'nacre-sweep-bench-'));
const base = { fsname: 'fs1', osts: async () => fourOsts(), destroyObjects: async () => {}, graceMs: 0 };
const reply = JSON.stringify({ r: { ino: 1, size: 4096, mode: 0o100644, padding: 'x'.repeat(200) } });

/** An MDT with `mounts` gone mounts' replies, their write times an hour old. */
async function seeded(name: string, sweep: boolean): Promise<Mdt> {
  const o = { ...base, path: join(dir, `${name}.db`) };
  const mdt = await Mdt.open({ ...o, mountReplies: { sweepEveryMs: 0 } });
  const put = mdt.store.db.prepare('INSERT INTO replies (client, xid, seq, reply) VALUES (?, ?, ?, ?)');
  const age = mdt.store.db.prepare('INSERT OR REPLACE INTO mount_replies (client, written) VALUES (?, ?)');
  await mdt.commit.apply(() => {
    for (let m = 0; m < mounts; m++) {
      for (let r = 1; r <= perMount; r++) put.run(`mount:old-${m}`, r, r, reply);
      age.run(`mount:old-${m}`, Date.now() - 2 * 3_600_000);
    }
  });
  await mdt.close();
  // Started an hour ago as far as the age bound goes: maxAgeMs 0 makes every old mount due at once.
  return Mdt.open({ ...o, mountReplies: { maxAgeMs: 0, sweepEveryMs: sweep ? 50 : 0, mountsPerSweep: 64 } });
}

/** mkdir latencies (ms) while `busy()` holds, at least `min` of them. */
async function mkdirs(mdt: Mdt, busy: () => boolean, min: number): Promise<number[]> {
  const caller = { client: 'worker', host: 'node-a', session: undefined };
  const out: number[] = [];
  for (let n = 0; busy() || n < min; n++) {
    const t = performance.now();
    await mdt.mutate(caller, n + 1, ROOT, (op) => mdt.ns.mkdir(op, 1, `d${n}`, 0o755));
    out.push(performance.now() - t);
  }
  return out;
}

function pct(ms: number[], q: number): number {
  const s = [...ms].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

const pendingOf = (mdt: Mdt) => mdt.store.db.prepare('SELECT count(*) AS n FROM mount_replies');
try {
  const plain = await seeded('baseline', false);
  const baseline = await mkdirs(plain, () => false, 1_000);
  await plain.close();

  const swept = await seeded('sweep', true);
  const pending = pendingOf(swept);
  let t = performance.now();
  const during = await mkdirs(swept, () => Number(pending.get()?.['n']) > 0, 50);
  const sweepMs = performance.now() - t;
  await swept.close();

  const whole = await seeded('whole', false);
  let done = false;
  t = performance.now();
  const one = whole.commit
    .apply(() => {
      whole.store.db.exec("DELETE FROM replies WHERE client >= 'mount:' AND client < 'mount;'");
      whole.store.db.exec('DELETE FROM mount_replies');
    })
    .then(() => {
      done = true;
    });
  const beside = await mkdirs(whole, () => !done, 50);
  await one;
  const wholeMs = performance.now() - t;
  await whole.close();

  const row = (name: string, ms: number[]) =>
    `${name.padEnd(34)} n=${String(ms.length).padStart(5)}  p50 ${pct(ms, 0.5).toFixed(2)} ms (×${(pct(ms, 0.5) / pct(baseline, 0.5)).toFixed(1)})  p99 ${pct(ms, 0.99).toFixed(1)} ms (×${(pct(ms, 0.99) / pct(baseline, 0.99)).toFixed(1)})  max ${pct(ms, 1).toFixed(1)} ms (×${(pct(ms, 1) / pct(baseline, 1)).toFixed(1)})`;
  console.log(`${mounts} gone mounts × ${perMount} replies; mkdir latency, × the no-sweep baseline`);
  console.log(row('baseline (no sweep)', baseline));
  console.log(
    `${row('sweep, one mount per transaction', during)}  [all dropped in ${sweepMs.toFixed(0)} ms]`,
  );
  console.log(`${row('one transaction for all', beside)}  [dropped in ${wholeMs.toFixed(0)} ms]`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
