// Metadata operations per second in one directory — create, stat, readdir, rename, unlink, mkdir, rmdir — Nacre against the local directory and a memory FS on the same FUSE layer.
import '../cmd/env-init.ts';
import { mkdir, open, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { median, ratio } from './stats.ts';
import { startTargets, type Target } from './targets.ts';

export interface MetaRow {
  op: string;
  local: number;
  memfs: number;
  nacre: number;
  vsLocal: number;
  vsMemfs: number;
}

const OPS = ['create', 'stat', 'readdir', 'rename', 'unlink', 'mkdir', 'rmdir'] as const;
type Op = (typeof OPS)[number];

/** Ops per second of each step over `n` entries in a fresh directory under `t` (readdir: entries listed per second). */
async function once(t: Target, n: number, round: number): Promise<Record<Op, number>> {
  const dir = join(t.dir, `meta-${round}`);
  await mkdir(dir);
  const out = {} as Record<Op, number>;
  const timed = async (op: Op, count: number, fn: (i: number) => Promise<unknown>) => {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await fn(i);
    out[op] = count / ((performance.now() - t0) / 1000);
  };
  await timed('create', n, async (i) => (await open(join(dir, `f${i}`), 'wx')).close());
  await timed('stat', n, (i) => stat(join(dir, `f${i}`)));
  let listed = 0;
  await timed('readdir', 1, async () => {
    listed = (await readdir(dir)).length;
  });
  out.readdir *= listed;
  await timed('rename', n, (i) => rename(join(dir, `f${i}`), join(dir, `r${i}`)));
  await timed('unlink', n, (i) => unlink(join(dir, `r${i}`)));
  await timed('mkdir', n, (i) => mkdir(join(dir, `d${i}`)));
  await timed('rmdir', n, (i) => rmdir(join(dir, `d${i}`)));
  await rmdir(dir);
  return out;
}

export async function metadataBench(reps: number, n: number): Promise<MetaRow[]> {
  const targets = await startTargets();
  const all = [targets.local, targets.memfs, targets.nacre];
  const seen = new Map(all.map((t) => [t.name, OPS.map(() => [] as number[])]));
  try {
    for (let i = 0; i < reps; i++) {
      for (const t of all) {
        const r = await once(t, n, i);
        OPS.forEach((op, k) => {
          seen.get(t.name)![k]!.push(r[op]);
        });
      }
    }
  } finally {
    await targets.stop();
  }
  return OPS.map((op, k) => {
    const [l, m, x] = all.map((t) => median(seen.get(t.name)![k]!)) as [number, number, number];
    const row = { op, local: l, memfs: m, nacre: x, vsLocal: ratio(x, l), vsMemfs: ratio(x, m) };
    printMetaRow(row, n);
    return row;
  });
}

export function printMetaRow(r: MetaRow, n: number): void {
  const f = (x: number) => x.toFixed(0).padStart(8);
  console.log(
    `${`${r.op} ×${n}`.padEnd(14)} local ${f(r.local)}  memfs ${f(r.memfs)}  nacre ${f(r.nacre)} /s   ×local ${r.vsLocal.toFixed(3)}  ×memfs ${r.vsMemfs.toFixed(2)}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await metadataBench(Number(process.argv[2] ?? 5), Number(process.argv[3] ?? 2000));
}
