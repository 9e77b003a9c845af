// The machine's limits, the ceilings every other benchmark is read against: memory copy, loopback TCP between two Node processes, local disk.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './stats.ts';

const MiB = 2 ** 20;

/** GiB/s of Buffer.copy of 1 MiB blocks over 1 GiB. */
function memoryCopy(): number {
  const src = Buffer.alloc(MiB, 7);
  const dst = Buffer.allocUnsafe(MiB);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 1024; i++) src.copy(dst);
  return 1 / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** The receiving side, run as its own Node process: counts bytes, answers "done" after `total`. */
const SINK = `
const net = require('node:net');
const total = Number(process.argv[1]);
const srv = net.createServer((s) => { let n = 0; s.on('data', (d) => { n += d.length; if (n >= total) s.end('done'); }); });
srv.listen(0, '127.0.0.1', () => process.stdout.write(String(srv.address().port) + '\\n'));
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
`;

/** MiB/s from this process to another over loopback TCP, 1 MiB writes, `mib` MiB. */
async function loopbackTcp(mib: number, signal: AbortSignal): Promise<number> {
  const sink = spawn(process.execPath, ['-e', SINK, String(mib * MiB)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      sink.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      sink.once('exit', () => reject(new Error('the loopback sink exited')));
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    const block = Buffer.alloc(MiB, 1);
    const sock = connect({ host: '127.0.0.1', port, signal });
    await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    const t0 = process.hrtime.bigint();
    const done = new Promise<void>((resolve, reject) =>
      sock.once('data', () => resolve()).once('error', reject),
    );
    for (let i = 0; i < mib; i++) {
      if (!sock.write(block)) await new Promise((r) => sock.once('drain', r));
    }
    await done;
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    sock.destroy();
    return mib / secs;
  } finally {
    sink.stdin.end();
    sink.kill();
  }
}

/** MiB/s of fio sequential 1 MiB direct write and read of `size` in `dir`; undefined without fio. */
function fioDirect(dir: string, rw: 'write' | 'read', size: string): number | undefined {
  const r = spawnSync(
    'fio',
    [
      `--directory=${dir}`,
      '--name=limits',
      `--rw=${rw}`,
      '--bs=1M',
      `--size=${size}`,
      '--direct=1',
      '--output-format=json',
    ],
    { encoding: 'utf8', timeout: 300_000 },
  );
  if (r.error || r.status !== 0) return undefined;
  const job = (JSON.parse(r.stdout) as { jobs: Record<string, { bw_bytes: number }>[] }).jobs[0]!;
  return job[rw]!.bw_bytes / MiB;
}

export interface Limits {
  memoryCopyGiBs: number;
  loopbackTcpMiBs: number;
  diskDirectWriteMiBs?: number;
  diskDirectReadMiBs?: number;
}

/** Medians of `reps` interleaved repetitions of each limit. */
export async function limits(reps: number, size = '256M'): Promise<Limits> {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-limits-'));
  const copy: number[] = [];
  const tcp: number[] = [];
  const w: number[] = [];
  const r: number[] = [];
  try {
    for (let i = 0; i < reps; i++) {
      copy.push(memoryCopy());
      tcp.push(await loopbackTcp(1024, AbortSignal.timeout(60_000)));
      const wr = fioDirect(dir, 'write', size);
      if (wr !== undefined) w.push(wr);
      const rd = fioDirect(dir, 'read', size);
      if (rd !== undefined) r.push(rd);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return {
    memoryCopyGiBs: median(copy),
    loopbackTcpMiBs: median(tcp),
    ...(w.length > 0 && { diskDirectWriteMiBs: median(w) }),
    ...(r.length > 0 && { diskDirectReadMiBs: median(r) }),
  };
}

export function printLimits(l: Limits): void {
  console.log(`memory copy (1 MiB blocks)          ${l.memoryCopyGiBs.toFixed(1)} GiB/s`);
  console.log(`loopback TCP, two Node processes    ${l.loopbackTcpMiBs.toFixed(0)} MiB/s`);
  console.log(
    `local disk, fio 1 MiB direct write  ${l.diskDirectWriteMiBs?.toFixed(0) ?? 'n/a (no fio)'} MiB/s`,
  );
  console.log(
    `local disk, fio 1 MiB direct read   ${l.diskDirectReadMiBs?.toFixed(0) ?? 'n/a (no fio)'} MiB/s`,
  );
}
