// CPU seconds per process of a benchmark's process tree (MinIO and child servers included), per phase the benchmark prints (a wrapper; bench/proc-cpu.ts is the in-process reader).
//
// Usage: node bench/cpu-by-process.ts [--interval-ms 200] -- <command> [args…]
// Runs the command, passes its output through, samples /proc/<pid>/stat of it and every descendant,
// and for each line "phase NAME FROM-TO" it printed (process.hrtime microseconds: bench/s3-bench.ts
// --phases) prints each process's CPU seconds inside that window and as a share of one core.
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  options: { 'interval-ms': { type: 'string', default: '200' } },
  allowPositionals: true,
});
const [command, ...args] = positionals;
if (!command) throw new Error('usage: node bench/cpu-by-process.ts [--interval-ms N] -- <command> [args…]');
const TICK_S = 0.01; // USER_HZ is 100 on Linux
const intervalMs = Number(values['interval-ms']);

interface Sample {
  us: bigint;
  ticks: Map<number, number>;
}
const names = new Map<number, string>();
const samples: Sample[] = [];
const phases: { name: string; from: bigint; to: bigint }[] = [];

/** pid → [ppid, utime + stime] of every process (races with exiting processes are skipped). */
async function readAll(): Promise<Map<number, [number, number]>> {
  const out = new Map<number, [number, number]>();
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = await readFile(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out.set(Number(d), [Number(f[1]), Number(f[11]) + Number(f[12])]);
    } catch {}
  }
  return out;
}

async function label(pid: number): Promise<string> {
  try {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
    const exe = argv[0]?.split('/').pop() ?? '?';
    const role = argv.indexOf('--role');
    if (role >= 0) return `${argv[role + 1]} ${pid}`;
    const script = argv.find((a) => a.endsWith('.ts'));
    return `${script ? script.split('/').pop() : exe} ${pid}`;
  } catch {
    return `? ${pid}`;
  }
}

async function sample(root: number): Promise<void> {
  const all = await readAll();
  const tree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, [ppid]] of all)
      if (!tree.has(pid) && tree.has(ppid)) {
        tree.add(pid);
        grew = true;
      }
  }
  const ticks = new Map<number, number>();
  for (const pid of tree) {
    const t = all.get(pid);
    if (!t) continue;
    ticks.set(pid, t[1]);
    if (!names.has(pid)) names.set(pid, await label(pid));
  }
  samples.push({ us: process.hrtime.bigint() / 1000n, ticks });
}

const child = spawn(command, args, { stdio: ['inherit', 'pipe', 'inherit'] });
const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
createInterface({ input: child.stdout! }).on('line', (line) => {
  console.log(line);
  const m = /^phase (\S+) (\d+)-(\d+)$/.exec(line);
  if (m) phases.push({ name: m[1]!, from: BigInt(m[2]!), to: BigInt(m[3]!) });
});
let running = true;
const sampler = (async () => {
  while (running) {
    await sample(child.pid!);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
})();
const code = await exited;
running = false;
await sampler;

/** Ticks of `pid` at the sample nearest `us` (the last one before it, or 0 before it existed). */
function ticksAt(pid: number, us: bigint): number {
  let v = 0;
  for (const s of samples) {
    if (s.us > us) break;
    v = s.ticks.get(pid) ?? v;
  }
  return v;
}
for (const p of phases) {
  const seconds = Number(p.to - p.from) / 1e6;
  const rows = [...names.entries()]
    .map(([pid, name]) => [name, (ticksAt(pid, p.to) - ticksAt(pid, p.from)) * TICK_S] as const)
    .filter(([, s]) => s > 0)
    .sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((a, [, s]) => a + s, 0);
  console.log(`cpu ${p.name}: ${seconds.toFixed(2)} s wall, ${total.toFixed(2)} CPU-s in the tree`);
  for (const [name, s] of rows)
    console.log(
      `  ${name.padEnd(28)} ${s.toFixed(2)} CPU-s  ${((100 * s) / seconds).toFixed(0)} % of a core`,
    );
}
process.exitCode = code;
