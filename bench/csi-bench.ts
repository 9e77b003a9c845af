// Benchmark (not a test) of CSI CreateVolume per provisioning mode on the real control plane and emulated file system, with same-run baselines.
//
// Usage: npm run bench:csi [-- --volumes 50 --fs-volumes 50 --fs-concurrency 5]
// Prints p50/p99 per mode and ratios against baselines measured in the same run: a CSI round trip
// (ControllerGetCapabilities), a Kubernetes GET of a FileSystem, and a mkdir through the striped client.
import { parseArgs } from 'node:util';
import { status } from '@grpc/grpc-js';
import { connectLustre } from '../src/lustre/client/index.ts';
import { parseMountSource } from '../src/lustre/mount-source.ts';
import { ROOT_CREDENTIALS, ROOT_INO } from '../src/lustre/types.ts';
import { mountCapability } from '../test/csi/csi-client.ts';
import { startCsiEnv } from '../test/csi/csi-env.ts';

const { values } = parseArgs({
  options: {
    volumes: { type: 'string', default: '50' },
    'fs-volumes': { type: 'string', default: '50' },
    'fs-concurrency': { type: 'string', default: '5' },
  },
});
const N = Number(values.volumes);
const FS_N = Number(values['fs-volumes']);
const FS_CONCURRENCY = Number(values['fs-concurrency']);

function pct(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
}

function line(what: string, samples: number[], base?: number[]): void {
  const p50 = pct(samples, 50);
  const p99 = pct(samples, 99);
  const ratio = base ? `  ×${(p50 / pct(base, 50)).toFixed(1)} of the baseline p50` : '';
  console.log(
    `${what.padEnd(46)} n=${String(samples.length).padStart(3)}  p50 ${p50.toFixed(1).padStart(8)} ms  p99 ${p99.toFixed(1).padStart(8)} ms${ratio}`,
  );
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const env = await startCsiEnv();
try {
  const c = env.client;
  const caps = [mountCapability()];
  const shared = await env.h.getFs(env.namespace, env.shared);
  const src = parseMountSource(`${shared?.status?.dnsName}@tcp:/${shared?.status?.mountName}`);
  const fs = await connectLustre({ mgsAddress: src.mgsAddress, fsname: src.fsname, host: 'bench' });

  const grpcRtt: number[] = [];
  const kubeGet: number[] = [];
  const mkdir: number[] = [];
  const dirCreate: number[] = [];
  const dirDelete: number[] = [];
  for (let i = 0; i < N; i++) {
    grpcRtt.push(await timed(() => c.controller('ControllerGetCapabilities', {})));
    kubeGet.push(await timed(() => env.h.getFs(env.namespace, env.shared)));
    mkdir.push(await timed(() => fs.mkdir(ROOT_CREDENTIALS, ROOT_INO, `bench-mkdir-${i}`, 0o755)));
    dirCreate.push(
      await timed(() =>
        c.controller('CreateVolume', {
          name: `pvc-bench-dir-${i}`,
          volumeCapabilities: caps,
          parameters: { fileSystemName: env.shared, stripeCount: '2' },
          capacityRange: { requiredBytes: String(1 << 30) },
        }),
      ),
    );
  }
  for (let i = 0; i < N; i++) {
    dirDelete.push(
      await timed(() =>
        c.controller('DeleteVolume', { volumeId: `dir/${env.namespace}/${env.shared}/pvc-bench-dir-${i}` }),
      ),
    );
    await fs.rmdir(ROOT_CREDENTIALS, ROOT_INO, `bench-mkdir-${i}`);
  }
  await fs.close();

  // A file system per volume: the time until CreateVolume succeeds, repeating it on Aborted every
  // 500 ms (the external-provisioner backs off from 1 s; this measures the driver, not the backoff).
  const fsCreate: number[] = [];
  const firstAnswer: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < FS_N) {
      const i = next++;
      const req = {
        name: `pvc-bench-fs-${i}`,
        volumeCapabilities: caps,
        parameters: { deploymentType: 'SCRATCH_2' },
      };
      const t0 = performance.now();
      let first = true;
      for (;;) {
        try {
          await c.controller('CreateVolume', req, 120_000);
          if (first) firstAnswer.push(performance.now() - t0);
          break;
        } catch (err) {
          if (first) firstAnswer.push(performance.now() - t0);
          first = false;
          if ((err as { code?: number }).code !== status.ABORTED) throw err;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      fsCreate.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: FS_CONCURRENCY }, worker));
  for (let i = 0; i < FS_N; i++)
    await c.controller('DeleteVolume', { volumeId: `fs/${env.namespace}/pvc-bench-fs-${i}` });

  console.log('\nBaselines (same run):');
  line('CSI round trip (ControllerGetCapabilities)', grpcRtt);
  line('Kubernetes GET of a FileSystem', kubeGet);
  line('mkdir through the striped client', mkdir);
  console.log('\nCreateVolume:');
  line('sub-directory volume (mkdir+stripe+quota)', dirCreate, mkdir);
  line('  … against the CSI round trip', dirCreate, grpcRtt);
  line(`file system per volume, until AVAILABLE (x${FS_CONCURRENCY})`, fsCreate, kubeGet);
  line('  … first answer (Aborted while CREATING)', firstAnswer, kubeGet);
  console.log('\nDeleteVolume:');
  line('sub-directory volume', dirDelete, mkdir);
} finally {
  await env.stop();
}
