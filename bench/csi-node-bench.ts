// NodeStage+NodePublish latency of `nacre node` over many volumes, against a plain `nacre mount` of the same file system in the same run.
// Usage: node bench/csi-node-bench.ts [--volumes 50] [--window 4]   (root, /dev/fuse; prints p50/p99 and ratios)
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MOUNT_RWX, NodePlugin } from '../e2e/csi/node-plugin.ts';
import { type FsCluster, NACRE, startFsCluster } from '../e2e/fs/fs-cluster.ts';

const { values } = parseArgs({
  options: { volumes: { type: 'string', default: '50' }, window: { type: 'string', default: '4' } },
});
const VOLUMES = Number(values.volumes);
const WINDOW = Number(values.window);

function run(argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
    c.once('error', reject);
    c.once('exit', (code) =>
      code === 0 ? resolve(0) : reject(new Error(`${argv.join(' ')} exited ${code}`)),
    );
  });
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
}

async function startCluster(): Promise<FsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startFsCluster({ ossCount: 2 });
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

const cluster = await startCluster();
const [dnsName = '', mountName = ''] = cluster.source.split('@tcp:/');
const context = { backend: 'emulated', dnsName, mountName, subPath: '' };
const plugin = new NodePlugin(cluster.dir, 'bench');
await plugin.start();
const stageMs: number[] = [];
const publishMs: number[] = [];
const bothMs: number[] = [];
const baselineMs: number[] = [];
const unMs: number[] = [];
const staged: Array<{ id: string; staging: string; target: string }> = [];

async function retire(v: { id: string; staging: string; target: string }) {
  const t = performance.now();
  await plugin.must('NodeUnpublishVolume', { volumeId: v.id, targetPath: v.target });
  await plugin.must('NodeUnstageVolume', { volumeId: v.id, stagingTargetPath: v.staging });
  unMs.push(performance.now() - t);
}

try {
  for (let i = 0; i < VOLUMES; i++) {
    const v = {
      id: `static/default/bench-${i}`,
      staging: join(cluster.dir, 'staging', String(i)),
      target: join(cluster.dir, 'pods', String(i), 'mount'),
    };
    const t0 = performance.now();
    await plugin.must('NodeStageVolume', {
      volumeId: v.id,
      stagingTargetPath: v.staging,
      volumeCapability: MOUNT_RWX,
      volumeContext: context,
    });
    const t1 = performance.now();
    await plugin.must('NodePublishVolume', {
      volumeId: v.id,
      stagingTargetPath: v.staging,
      targetPath: v.target,
      volumeCapability: MOUNT_RWX,
      volumeContext: context,
    });
    const t2 = performance.now();
    stageMs.push(t1 - t0);
    publishMs.push(t2 - t1);
    bothMs.push(t2 - t0);
    staged.push(v);
    if (staged.length > WINDOW) await retire(staged.shift()!);
    // Baseline, interleaved: the same file system mounted by `nacre mount` (daemonized FUSE mount, no CSI, no keeper).
    if (i % 5 === 0) {
      const dir = join(cluster.dir, 'baseline', String(i));
      await mkdir(dir, { recursive: true });
      const b0 = performance.now();
      await run([
        ...NACRE,
        'mount',
        cluster.source,
        dir,
        '--log-file',
        join(cluster.dir, 'logs', `baseline-${i}.log`),
      ]);
      baselineMs.push(performance.now() - b0);
      await run(['umount', dir]);
    }
  }
  for (const v of staged.splice(0)) await retire(v);
} finally {
  await plugin.stop();
  await cluster.stop();
}

const line = (name: string, xs: number[]) =>
  `${name.padEnd(34)} n=${String(xs.length).padStart(3)}  p50 ${pct(xs, 50).toFixed(0).padStart(6)} ms  p99 ${pct(xs, 99).toFixed(0).padStart(6)} ms`;
process.stdout.write(
  [
    line('NodeStageVolume', stageMs),
    line('NodePublishVolume', publishMs),
    line('NodeStage+NodePublish', bothMs),
    line('NodeUnpublish+NodeUnstage', unMs),
    line('baseline: nacre mount (daemon)', baselineMs),
    `ratio NodeStage+NodePublish / nacre mount: p50 ${(pct(bothMs, 50) / pct(baselineMs, 50)).toFixed(2)}`,
    '',
  ].join('\n'),
);
