// Benchmark (not a test) of the RPC frame decoder on bulk data: 8 MiB frames fed in 64 KiB socket-sized chunks; prints MiB/s and GC time.
// Usage: node bench/frame-bench.ts [--mib 2048] [--frame-mib 8]
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { encodeFrame, FrameDecoder } from '../src/lustre/protocol/frame.ts';

const { values } = parseArgs({
  options: { mib: { type: 'string', default: '2048' }, 'frame-mib': { type: 'string', default: '8' } },
});
const MiB = 1024 * 1024;
const frameBytes = Number(values['frame-mib']) * MiB;
const frames = Math.ceil((Number(values.mib) * MiB) / frameBytes);
const wire = Buffer.concat(encodeFrame(2, 1, { written: 1 }, Buffer.alloc(frameBytes, 1)));
// The chunks as a socket hands them over (views of one buffer here: only the decoder's own work is timed).
const chunks = Array.from({ length: Math.ceil(wire.length / 65_536) }, (_, i) =>
  wire.subarray(i * 65_536, (i + 1) * 65_536),
);
let gcMs = 0;
const obs = new PerformanceObserver((l) => {
  for (const e of l.getEntries()) gcMs += e.duration;
});
obs.observe({ entryTypes: ['gc'] });
const d = new FrameDecoder();
const t = performance.now();
let got = 0;
for (let f = 0; f < frames; f++)
  for (const c of chunks) for (const frame of d.push(c)) got += frame.payload?.length ?? 0;
const s = (performance.now() - t) / 1000;
await new Promise((r) => setImmediate(r));
obs.disconnect();
console.log(
  `decoded ${(got / MiB).toFixed(0)} MiB in ${values['frame-mib']} MiB frames: ${(got / MiB / s).toFixed(0)} MiB/s, GC ${gcMs.toFixed(0)} ms`,
);
