// csi-sanity (kubernetes-csi/csi-test v5) against the CSI controller on the real kube-apiserver, operator and emulated file system.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { toolPath } from '../../e2e/harness/tools.ts';
import { eventually } from '../../test/controller/operator-env.ts';
import { csiClient } from '../../test/csi/csi-client.ts';
import { type CsiEnv, startCsiEnv } from '../../test/csi/csi-env.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

let env: CsiEnv;
let sanity: string;
let nodeEndpoint: string;
let node: ChildProcess | undefined;

before(
  async () => {
    sanity = await toolPath('csi-sanity', AbortSignal.timeout(40 * 60_000));
    // csi-sanity does not repeat a CreateVolume that answers Aborted, as the external-provisioner does:
    // let each call wait until the emulated file system (or backup) is AVAILABLE.
    env = await startCsiEnv({ waitMs: 120_000 });
    // csi-sanity's cleanup asks the node plugin to unpublish and unstage, so every run has one.
    nodeEndpoint = `unix://${join(env.dir, 'node.sock')}`;
    await mkdir(join(env.dir, 'kubelet'), { recursive: true });
    node = spawn(
      process.execPath,
      [
        join(REPO, 'cmd', 'nacre.ts'),
        'node',
        '--csi-endpoint',
        nodeEndpoint,
        '--node-id',
        'sanity-node',
        '--state-dir',
        join(env.dir, 'node-state'),
        '--kubelet-dir',
        join(env.dir, 'kubelet'),
        '--host',
        'sanity-node',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const probe = csiClient(nodeEndpoint);
    try {
      await eventually('the node plugin to answer', () => probe.node('NodeGetInfo', {}, 2_000), 60_000);
    } finally {
      probe.close();
    }
  },
  { timeout: 45 * 60_000 },
);
after(async () => {
  if (node && node.exitCode === null) {
    node.kill('SIGTERM');
    await once(node, 'exit');
  }
  // Mounts a failed node spec left behind (their keepers end with them).
  const mounts = env ? (await readFile('/proc/mounts', 'utf8')).split('\n') : [];
  for (const m of mounts
    .map((l) => l.split(' ')[1] ?? '')
    .filter((p) => p.startsWith(`${env.dir}/`))
    .reverse()) {
    await new Promise((r) => execFile('umount', ['-l', m], r));
  }
  await env?.stop();
});

async function runSanity(name: string, params: Record<string, string>, extra: string[]): Promise<string> {
  const dir = join(env.dir, name);
  await mkdir(join(dir, 'mnt'), { recursive: true });
  const paramsFile = join(dir, 'params.yaml');
  await writeFile(
    paramsFile,
    Object.entries(params)
      .map(([k, v]) => `${k}: "${v}"`)
      .join('\n'),
  );
  const args = [
    `--csi.endpoint=${nodeEndpoint}`,
    `--csi.controllerendpoint=${env.endpoint}`,
    `--csi.mountdir=${join(dir, 'mnt', 'target')}`,
    `--csi.stagingdir=${join(dir, 'mnt', 'staging')}`,
    `--csi.testvolumeparameters=${paramsFile}`,
    '--ginkgo.no-color',
    '--ginkgo.timeout=40m',
    ...extra,
  ];
  return new Promise((resolve, reject) => {
    execFile(sanity, args, { timeout: 40 * 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const out = `${stdout}\n${stderr}`;
      if (err) reject(new Error(`csi-sanity ${name} failed (${err.message}):\n${out.slice(-20_000)}`));
      else resolve(out);
    });
  });
}

function summary(out: string): string {
  return out.match(/Ran \d+ of \d+ Specs[^\n]*\n[^\n]*/)?.[0] ?? 'no summary';
}

test('csi-sanity passes for sub-directory volumes, node plugin included (snapshots skipped: a directory of a shared file system has no FSx backup)', async (t) => {
  const out = await runSanity('dir', { fileSystemName: env.shared }, [
    '--ginkgo.skip=Snapshot|should create volume from an existing source snapshot',
  ]);
  t.diagnostic(summary(out));
  assert.match(out, /SUCCESS!/);
});

test('csi-sanity passes for file-system-per-volume volumes, node plugin included (PERSISTENT_2: snapshots are FSx backups)', async (t) => {
  const out = await runSanity('fs', { deploymentType: 'PERSISTENT_2', perUnitStorageThroughput: '125' }, [
    // The Node Service specs ran in the sub-directory run; here they would only mount a new file system each.
    '--ginkgo.skip=Node Service',
    // The smallest file system FSx makes (1200 GiB), so "same name, other capacity" can ask for exactly it.
    `--csi.testvolumesize=${1200 * 1024 ** 3}`,
    `--csi.testvolumeexpandsize=${2400 * 1024 ** 3}`,
  ]);
  t.diagnostic(summary(out));
  assert.match(out, /SUCCESS!/);
  // Deleted volumes and snapshots leave nothing behind once the operator has finished.
  const deadline = Date.now() + 120_000;
  let left = await env.leftovers();
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    left = await env.leftovers();
  }
  assert.deepEqual(left, []);
});
