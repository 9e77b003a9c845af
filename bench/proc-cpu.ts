// CPU seconds used by this process and its descendants (by command name) and by the whole machine, read from /proc, for benchmark phases.
import { readdirSync, readFileSync } from 'node:fs';

const TICK = 100; // USER_HZ: clock ticks per second of /proc's times (100 on Linux)

/** utime + stime seconds per command name of this process and every descendant, and the machine's busy and idle seconds. */
export interface CpuSnapshot {
  byName: Map<string, number>;
  machine: { busy: number; idle: number };
}

function stat(pid: string): { ppid: number; name: string; cpu: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    const name = s.slice(s.indexOf('(') + 1, close);
    const f = s.slice(close + 2).split(' ');
    return { ppid: Number(f[1]), name, cpu: (Number(f[11]) + Number(f[12])) / TICK };
  } catch {
    return undefined; // gone meanwhile
  }
}

export function cpuSnapshot(): CpuSnapshot {
  const all = new Map<number, { ppid: number; name: string; cpu: number }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = stat(d);
    if (s) all.set(Number(d), s);
  }
  const mine = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, s] of all)
      if (!mine.has(pid) && mine.has(s.ppid)) {
        mine.add(pid);
        grew = true;
      }
  }
  const byName = new Map<string, number>();
  for (const pid of mine) {
    const s = all.get(pid);
    if (!s) continue;
    const name = pid === process.pid ? 'bench' : s.name;
    byName.set(name, (byName.get(name) ?? 0) + s.cpu);
  }
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (line[3] ?? 0) + (line[4] ?? 0);
  const busy = line.reduce((a, b) => a + b, 0) - idle;
  return { byName, machine: { busy: busy / TICK, idle: idle / TICK } };
}

/** "bench 3.1 s, node 0.4 s, minio 2.2 s; machine busy 5.9 s of 6.0" between two snapshots. */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): string {
  const parts = [...b.byName]
    .map(([n, s]) => [n, s - (a.byName.get(n) ?? 0)] as const)
    .filter(([, s]) => s >= 0.05)
    .map(([n, s]) => `${n} ${s.toFixed(1)} s`);
  const busy = b.machine.busy - a.machine.busy;
  const idle = b.machine.idle - a.machine.idle;
  return `${parts.join(', ')}; machine busy ${busy.toFixed(1)} s of ${(busy + idle).toFixed(1)} cpu-s`;
}
