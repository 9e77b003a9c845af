// Benchmark: sequential 1 MiB dd through the FUSE adapter on the memory client, against tmpfs in the same run.
// Run as root: node bench/fuse-dd-bench.ts [MiB=1024] [rounds=3]
process.env['UV_THREADPOOL_SIZE'] ??= '16'; // the read loops block pool threads; set before the pool starts

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountFuse } from '../src/lustre/fuse/mount.ts';
import { run } from '../test/lustre/fuse-kit.ts';
import { MemoryClient } from '../test/lustre/memory-client.ts';

const sizeMiB = Number(process.argv[2] ?? 1024);
const rounds = Number(process.argv[3] ?? 3);

/** Runs dd in a child process and returns MB/s (10^6 bytes per second), timed by dd itself. */
async function dd(args: string[]): Promise<number> {
  const r = await run('dd', [...args, 'bs=1M', `count=${sizeMiB}`], { timeoutMs: 300_000 });
  const m = /(\d+) bytes .* copied, ([\d.]+) s/.exec(r.stderr);
  if (r.code !== 0 || !m) throw new Error(`dd ${args.join(' ')} failed: ${r.stderr}`);
  return Number(m[1]) / Number(m[2]) / 1e6;
}

interface Variant {
  name: string;
  /** Directory to test in; undefined for the tmpfs baseline. */
  mount?: { directIo: boolean; readAheadKb?: number };
}

const variants: Variant[] = [
  { name: 'tmpfs (/dev/shm) baseline' },
  { name: 'fuse directIo=true', mount: { directIo: true } },
  { name: 'fuse directIo=false (readahead 128 KiB)', mount: { directIo: false } },
  { name: 'fuse directIo=false (readahead 1 MiB)', mount: { directIo: false, readAheadKb: 1024 } },
];

type Result = { write: number; overwrite: number; read: number };

async function measure(v: Variant): Promise<Result> {
  const dir = await mkdtemp(join(v.mount ? tmpdir() : '/dev/shm', 'nacre-dd-'));
  const mount = v.mount
    ? await mountFuse({ client: new MemoryClient(), mountPoint: dir, source: 'nacre-bench', ...v.mount })
    : undefined;
  try {
    const file = join(dir, 'f');
    const write = await dd(['if=/dev/zero', `of=${file}`]);
    const overwrite = await dd(['if=/dev/zero', `of=${file}`, 'conv=notrunc']);
    const read = await dd([`if=${file}`, 'of=/dev/null']);
    return { write, overwrite, read };
  } finally {
    await mount?.unmount();
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const kinds = ['write', 'overwrite', 'read'] as const;
const results = new Map(
  variants.map((v) => [v.name, { write: [], overwrite: [], read: [] } as Record<keyof Result, number[]>]),
);
for (let i = 0; i < rounds; i++) {
  for (const v of variants) {
    const r = await measure(v);
    for (const k of kinds) results.get(v.name)![k].push(r[k]);
  }
}
const base = results.get(variants[0]!.name)!;
console.log(
  `sequential dd bs=1M, ${sizeMiB} MiB, median of ${rounds} interleaved rounds: MB/s (ratio to tmpfs)`,
);
console.log(
  'write: new file (the memory client allocates its pages); overwrite: conv=notrunc of the same file',
);
for (const [name, r] of results) {
  const cols = kinds.map((k) => {
    const m = median(r[k]);
    return `${k} ${m.toFixed(0).padStart(5)} (${(m / median(base[k])).toFixed(2)})`;
  });
  console.log(`${name.padEnd(40)} ${cols.join('  ')}`);
}
