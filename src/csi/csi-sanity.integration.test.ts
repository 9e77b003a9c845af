// csi-sanity (kubernetes-csi/csi-test v5) against the CSI controller on the real kube-apiserver, operator and emulated file system.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { toolPath } from '../../e2e/harness/tools.ts';
import { eventually } from '../controller/test-support/operator-env.ts';
import { LABEL_SNAPSHOT, LABEL_VOLUME } from './controller/stores.ts';
import { csiClient } from './test-support/csi-client.ts';
import { type CsiEnv, startCsiEnv } from './test-support/csi-env.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

let env: CsiEnv;
let sanity: string;

before(
  async () => {
    sanity = await toolPath('csi-sanity', AbortSignal.timeout(40 * 60_000));
    // csi-sanity does not repeat a CreateVolume that answers Aborted, as the external-provisioner does:
    // let each call wait until the emulated file system (or backup) is AVAILABLE.
    env = await startCsiEnv({ waitMs: 120_000 });
  },
  { timeout: 45 * 60_000 },
);
after(async () => {
  await env?.stop();
});

/**
 * What csi-sanity cannot run against a controller-only socket: the Node Service specs need the node
 * plugin (`nacre node`), run by its own suite.
 */
const CONTROLLER_ONLY_SKIP = 'Node Service';

async function runSanity(
  name: string,
  params: Record<string, string>,
  extra: string[],
  endpoints = [`--csi.endpoint=${env.endpoint}`],
): Promise<string> {
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
    ...endpoints,
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

async function leftovers(): Promise<string[]> {
  const r = await env.h.env.kubectl([
    'get',
    'filesystems,backups',
    '-n',
    env.namespace,
    '-l',
    `${LABEL_VOLUME}=true`,
    '-o',
    'name',
  ]);
  const b = await env.h.env.kubectl([
    'get',
    'backups',
    '-n',
    env.namespace,
    '-l',
    `${LABEL_SNAPSHOT}=true`,
    '-o',
    'name',
  ]);
  return `${r.stdout}\n${b.stdout}`.split('\n').filter((l) => l.trim() !== '');
}

test('csi-sanity passes for sub-directory volumes (snapshots skipped: a directory of a shared file system has no FSx backup)', async (t) => {
  const out = await runSanity('dir', { fileSystemName: env.shared }, [
    `--ginkgo.skip=${CONTROLLER_ONLY_SKIP}|Snapshot|should create volume from an existing source snapshot`,
  ]);
  t.diagnostic(summary(out));
  assert.match(out, /SUCCESS!/);
});

test('csi-sanity passes for file-system-per-volume volumes (PERSISTENT_2: snapshots are FSx backups)', async (t) => {
  const out = await runSanity('fs', { deploymentType: 'PERSISTENT_2', perUnitStorageThroughput: '125' }, [
    `--ginkgo.skip=${CONTROLLER_ONLY_SKIP}`,
    // The smallest file system FSx makes (1200 GiB), so "same name, other capacity" can ask for exactly it.
    `--csi.testvolumesize=${1200 * 1024 ** 3}`,
    `--csi.testvolumeexpandsize=${2400 * 1024 ** 3}`,
  ]);
  t.diagnostic(summary(out));
  assert.match(out, /SUCCESS!/);
  // Deleted volumes and snapshots leave nothing behind once the operator has finished.
  const deadline = Date.now() + 120_000;
  let left = await leftovers();
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    left = await leftovers();
  }
  assert.deepEqual(left, []);
});

test('csi-sanity passes with the node plugin too: stage, publish, stats and unstage of sub-directory volumes on real FUSE mounts', async (t) => {
  const nodeSocket = join(env.dir, 'node.sock');
  const node = spawn(
    process.execPath,
    [
      join(REPO, 'cmd', 'nacre.ts'),
      'node',
      '--csi-endpoint',
      `unix://${nodeSocket}`,
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
  t.after(async () => {
    node.kill('SIGTERM');
    await once(node, 'exit');
  });
  const probe = csiClient(`unix://${nodeSocket}`);
  t.after(() => probe.close());
  await eventually('the node plugin to answer', () => probe.node('NodeGetInfo', {}, 2_000), 60_000);
  const out = await runSanity(
    'node',
    { fileSystemName: env.shared },
    ['--ginkgo.skip=Snapshot|should create volume from an existing source snapshot'],
    [`--csi.endpoint=unix://${nodeSocket}`, `--csi.controllerendpoint=${env.endpoint}`],
  );
  t.diagnostic(summary(out));
  assert.match(out, /SUCCESS!/);
});
