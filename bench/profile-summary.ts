// Where the time goes: self time per function from the .cpuprofile files Node writes with --cpu-prof.
//
// Usage: NODE_OPTIONS="--cpu-prof --cpu-prof-dir=DIR" npm run bench:fs -- …; node bench/profile-summary.ts DIR [top] [fromUs-toUs]
// (the window, in process.hrtime microseconds as the profiles stamp them, keeps only samples in it: one phase of a bench)
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self milliseconds per "function file:line", largest first, and the profile's total. */
export function selfTimes(
  p: Profile,
  window?: [number, number],
): { total: number; rows: [string, number][] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const ms = new Map<string, number>();
  let total = 0;
  let at = p.startTime;
  p.samples.forEach((id, i) => {
    at += p.timeDeltas[i] ?? 0;
    if (window && (at < window[0] || at > window[1])) return;
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const f = byId.get(id)?.callFrame;
    const file = f?.url.replace(/^.*\/(node_modules|src|cmd)\//, '$1/') ?? '?';
    const key = `${f?.functionName || '(anonymous)'} ${file}:${(f?.lineNumber ?? 0) + 1}`;
    ms.set(key, (ms.get(key) ?? 0) + dt);
  });
  return { total, rows: [...ms.entries()].sort((a, b) => b[1] - a[1]) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: profile-summary.ts <dir with .cpuprofile files> [top]');
  const top = Number(process.argv[3] ?? 12);
  const window = process.argv[4]?.split('-').map(Number) as [number, number] | undefined;
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.cpuprofile')).sort()) {
    const { total, rows } = selfTimes(JSON.parse(await readFile(join(dir, name), 'utf8')) as Profile, window);
    if (total < (window ? 50 : 500)) continue;
    console.log(`\n${name}: ${(total / 1000).toFixed(1)} s sampled`);
    for (const [fn, t] of rows.slice(0, top)) {
      console.log(`  ${((100 * t) / total).toFixed(1).padStart(5)}%  ${fn}`);
    }
  }
}
