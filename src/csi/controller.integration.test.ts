// The CSI controller on the real kube-apiserver, operator and emulated file system: refusals, kill -9 mid-CreateVolume, and the real sidecars.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { status } from '@grpc/grpc-js';
import { eventually } from '../../test/controller/operator-env.ts';
import { type CsiClient, csiClient, mountCapability } from '../../test/csi/csi-client.ts';
import { type CsiEnv, startCsiEnv } from '../../test/csi/csi-env.ts';
import { waitFor } from '../lib/wait-for.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
let env: CsiEnv;

before(
  async () => {
    env = await startCsiEnv();
  },
  { timeout: 45 * 60_000 },
);
after(async () => {
  await env?.stop();
});

const caps = [mountCapability()];
const codeOf = (code: number, text?: RegExp) => (err: { code?: number; details?: string }) => {
  assert.equal(err.code, code, `${err.code} ${err.details}`);
  if (text) assert.match(err.details ?? '', text);
  return true;
};

/** The codes the external-provisioner takes for "still in progress" and repeats CreateVolume on. */
const IN_PROGRESS: ReadonlySet<number | undefined> = new Set([
  status.ABORTED,
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
]);

/**
 * CreateVolume repeated while it answers Aborted (a file system still CREATING) or the controller is
 * not reachable yet, as the external-provisioner does; any other error (a refusal) rejects at once.
 */
async function createVolume(
  client: CsiClient,
  req: object,
): Promise<{ volume: { volumeId: string; capacityBytes: string; volumeContext: Record<string, string> } }> {
  return waitFor(
    'CreateVolume to succeed',
    async () => {
      try {
        return await client.controller('CreateVolume', req);
      } catch (err) {
        if (IN_PROGRESS.has((err as { code?: number }).code)) return undefined;
        throw err;
      }
    },
    { timeoutMs: 180_000, intervalMs: 100 },
  ) as never;
}

test('bad input is refused with the CSI code and a message saying what to fix, and creates nothing', async () => {
  const c = env.client;
  const before = await env.leftovers();
  await assert.rejects(
    c.controller('CreateVolume', {
      name: 'bad-1',
      volumeCapabilities: caps,
      parameters: { deploymentTyp: 'SCRATCH_2' },
    }),
    codeOf(status.INVALID_ARGUMENT, /unknown StorageClass parameter "deploymentTyp"/),
  );
  await assert.rejects(
    c.controller('CreateVolume', { name: '', volumeCapabilities: caps }),
    codeOf(status.INVALID_ARGUMENT, /name is required/),
  );
  await assert.rejects(
    c.controller('CreateVolume', { name: 'bad-2', volumeCapabilities: [] }),
    codeOf(status.INVALID_ARGUMENT, /volume_capabilities is required/),
  );
  await assert.rejects(
    c.controller('CreateVolume', {
      name: 'bad-3',
      volumeCapabilities: [{ block: {}, accessMode: { mode: 'SINGLE_NODE_WRITER' } }],
    }),
    codeOf(status.INVALID_ARGUMENT, /block access is not supported/),
  );
  await assert.rejects(
    c.controller('CreateVolume', {
      name: 'bad-4',
      volumeCapabilities: caps,
      capacityRange: { requiredBytes: String(10 * 2 ** 30), limitBytes: String(10 * 2 ** 30) },
    }),
    codeOf(status.OUT_OF_RANGE, /at least 1200 GiB/),
  );
  // The schema of the FileSystem resource refuses the value: nothing is stored.
  await assert.rejects(
    c.controller('CreateVolume', {
      name: 'bad-5',
      volumeCapabilities: caps,
      parameters: { deploymentType: 'SCRATCH_9' },
    }),
    codeOf(status.INVALID_ARGUMENT, /deploymentType/),
  );
  await assert.rejects(
    c.controller('CreateVolume', {
      name: 'bad-6',
      volumeCapabilities: caps,
      parameters: { fileSystemName: 'nope' },
    }),
    codeOf(status.INVALID_ARGUMENT, /FileSystem main\/nope does not exist; create it first/),
  );
  await assert.rejects(
    c.controller('ControllerExpandVolume', {
      volumeId: 'fs/main/nope',
      capacityRange: { requiredBytes: '1' },
    }),
    codeOf(status.NOT_FOUND),
  );
  await assert.rejects(
    c.controller('ValidateVolumeCapabilities', { volumeId: 'garbage', volumeCapabilities: caps }),
    codeOf(status.NOT_FOUND),
  );
  await assert.rejects(
    c.controller('CreateSnapshot', { name: 's', sourceVolumeId: `dir/main/${env.shared}/x` }),
    codeOf(status.FAILED_PRECONDITION, /only file-system-per-volume volumes have snapshots/),
  );
  assert.deepEqual(await c.controller('DeleteVolume', { volumeId: 'not-ours' }), {});
  assert.deepEqual(await env.leftovers(), before);
});

test('a file system per volume: created once, grown in FSx steps, its SCRATCH snapshot refused, deleted with its FileSystem', async () => {
  const c = env.client;
  const req = {
    name: 'pvc-fs-one',
    volumeCapabilities: caps,
    parameters: { deploymentType: 'SCRATCH_2' },
    capacityRange: { requiredBytes: String(100 * 2 ** 30) },
  };
  const { volume } = await createVolume(c, req);
  assert.equal(volume.volumeId, 'fs/main/pvc-fs-one');
  assert.equal(volume.capacityBytes, String(1200 * 2 ** 30));
  assert.match(volume.volumeContext['dnsName'] ?? '', /^127\.0\.0\.1:\d+$/);
  assert.match(volume.volumeContext['mountName'] ?? '', /^[a-z][a-z0-9]{7}$/);
  assert.equal(
    (await c.controller<{ volume: typeof volume }>('CreateVolume', req)).volume.volumeId,
    volume.volumeId,
  );
  await assert.rejects(
    c.controller('CreateVolume', { ...req, capacityRange: { requiredBytes: String(2000 * 2 ** 30) } }),
    codeOf(status.ALREADY_EXISTS),
  );
  const grown = await c.controller<{ capacityBytes: string; nodeExpansionRequired: boolean }>(
    'ControllerExpandVolume',
    { volumeId: volume.volumeId, capacityRange: { requiredBytes: String(1500 * 2 ** 30) } },
  );
  assert.deepEqual(grown, { capacityBytes: String(2400 * 2 ** 30), nodeExpansionRequired: false });
  await env.h.waitFor(
    'main',
    'pvc-fs-one',
    'grown to 2400 GiB',
    (s) => s.storageCapacity === 2400 && s.lifecycle === 'AVAILABLE',
  );
  await assert.rejects(
    c.controller('CreateSnapshot', { name: 'snap-scratch', sourceVolumeId: volume.volumeId }),
    codeOf(status.FAILED_PRECONDITION, /PERSISTENT/),
  );
  const fsId = volume.volumeContext['fileSystemId'];
  await c.controller('DeleteVolume', { volumeId: volume.volumeId });
  await eventually(
    'the FileSystem to go',
    async () => ((await env.h.getFs('main', 'pvc-fs-one')) ? undefined : true),
    120_000,
  );
  assert.ok(
    !(await env.h.fsx.fileSystems()).some((f) => f.FileSystemId === fsId && f.Lifecycle !== 'DELETING'),
  );
});

function startControllerProcess(endpoint: string): ChildProcess {
  const fsx = env.h.fsx;
  return spawn(
    process.execPath,
    [
      join(REPO, 'cmd', 'nacre.ts'),
      'controller',
      '--csi-endpoint',
      endpoint,
      '--kubeconfig',
      env.h.env.cluster.kubeconfigPath,
      // Its operator half watches an empty namespace: the harness's operator reconciles "main".
      '--namespace',
      'csi-kill-empty',
      '--pod-namespace',
      env.namespace,
      '--no-leader-election',
      '--metrics-address',
      '127.0.0.1:0',
      '--emulator-endpoint',
      fsx.endpoint,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        NACRE_FSX_ACCESS_KEY_ID: fsx.accessKeyId,
        NACRE_FSX_SECRET_ACCESS_KEY: fsx.secretAccessKey,
      },
    },
  );
}

test('kill -9 of `nacre controller` during CreateVolume: after a restart the repeat makes no second file system', async (t) => {
  const endpoint = `unix://${join(env.dir, 'killed.sock')}`;
  let child = startControllerProcess(endpoint);
  t.after(() => child.kill('SIGKILL'));
  const client = csiClient(endpoint);
  t.after(() => client.close());
  await eventually('the CSI socket to answer Probe', () => client.identity('Probe', {}, 2_000), 60_000);
  const req = { name: 'pvc-killed', volumeCapabilities: caps, parameters: { deploymentType: 'SCRATCH_2' } };
  const inFlight = client.controller('CreateVolume', req).then(
    () => 'finished',
    (err: { code?: number }) => err.code,
  );
  await eventually(
    'the FileSystem to be created',
    async () => (await env.h.getFs('main', 'pvc-killed')) ?? undefined,
    30_000,
  );
  child.kill('SIGKILL');
  await once(child, 'exit');
  const outcome = await inFlight;
  t.diagnostic(`the call in flight at the kill ended with: ${outcome}`);
  child = startControllerProcess(endpoint);
  await eventually(
    'the restarted controller to answer Probe',
    () => client.identity('Probe', {}, 2_000),
    60_000,
  );
  const { volume } = await createVolume(client, req);
  assert.equal(volume.volumeId, 'fs/main/pvc-killed');
  const obj = await env.h.getFs('main', 'pvc-killed');
  const tagged = await env.h.fileSystemsTagged(obj!.metadata.uid!);
  assert.equal(tagged.length, 1, `file systems made for the volume: ${tagged.map((f) => f.FileSystemId)}`);
  await client.controller('DeleteVolume', { volumeId: volume.volumeId });
  await eventually(
    'the FileSystem to go',
    async () => ((await env.h.getFs('main', 'pvc-killed')) ? undefined : true),
    120_000,
  );
});

test('ListVolumes lists every namespace the driver works in, and what it reaches when a shared file system does not answer; volume health names those', async (t) => {
  const c = env.client;
  await env.h.env.kubectl(['create', 'namespace', 'other']);
  const other = await env.h.controllerFor(t, 'other');
  await env.h.apply(
    'other',
    'FileSystem',
    'shared2',
    '  storageCapacity: 1200\n  lustreConfiguration:\n    deploymentType: SCRATCH_2\n',
  );
  await env.h.waitFor('other', 'shared2', 'Ready', (s) => s.lifecycle === 'AVAILABLE');
  const dir = (name: string, parameters: Record<string, string>) =>
    c.controller<{ volume: { volumeId: string } }>('CreateVolume', {
      name,
      volumeCapabilities: caps,
      parameters,
      capacityRange: { requiredBytes: String(2 ** 30) },
    });
  const here = (await dir('pvc-list-main', { fileSystemName: env.shared })).volume.volumeId;
  const there = (await dir('pvc-list-other', { fileSystemName: 'shared2', fileSystemNamespace: 'other' }))
    .volume.volumeId;
  const listed = async () =>
    (await c.controller<{ entries: { volume: { volumeId: string } }[] }>('ListVolumes', {})).entries.map(
      (e) => e.volume.volumeId,
    );
  const all = await listed();
  assert.ok(all.includes(here) && all.includes(there), all.join(' '));
  type Health = { volumeId: string; healthStatuses: { status: string; reason: string }[] };
  const health = async (volumeId: string) =>
    (await c.controller<{ volumeHealth: Health }>('ControllerGetVolumeHealth', { volumeId })).volumeHealth
      .healthStatuses;
  assert.deepEqual(await health(here), []);
  assert.deepEqual(await health(there), []);

  // The servers of "other"/shared2 move out of reach (its operator stopped, its status pointing at a closed port),
  // and a shared file system of a third namespace was never reachable.
  await other.stop();
  const unreachable =
    '{"status":{"lifecycle":"AVAILABLE","backend":"emulated","dnsName":"127.0.0.1:9","mountName":"gonefs"}}';
  const patch = async (ns: string, name: string) => {
    const r = await env.h.env.kubectl([
      'patch',
      'filesystem',
      name,
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      unreachable,
    ]);
    assert.equal(r.code, 0, r.stderr);
  };
  await patch('other', 'shared2');
  await env.h.env.kubectl(['create', 'namespace', 'unreachable']);
  await env.h.apply('unreachable', 'FileSystem', 'gone', '  storageCapacity: 1200\n');
  await env.h.env.kubectl(['label', 'filesystem', 'gone', '-n', 'unreachable', 'csi.nacre.dev/shared=true']);
  await patch('unreachable', 'gone');
  const started = Date.now();
  const partial = await listed();
  assert.ok(partial.includes(here) && !partial.includes(there), partial.join(' '));
  assert.ok(Date.now() - started < 30_000, `ListVolumes took ${Date.now() - started} ms`);
  assert.deepEqual(
    (await health(there)).map((e) => `${e.status} ${e.reason}`),
    ['INACCESSIBLE FileSystemUnreachable'],
  );
  const abnormal = await c.controller<{ entries: Health[] }>('ControllerListVolumeHealth', {});
  assert.deepEqual(
    abnormal.entries.map((e) => [e.volumeId, e.healthStatuses.map((h) => h.reason)]),
    [[there, ['FileSystemUnreachable']]],
  );
  await assert.rejects(
    c.controller('ControllerGetVolumeHealth', { volumeId: 'dir/main/shared/no-such-volume' }),
    codeOf(status.NOT_FOUND),
  );
  await c.controller('DeleteVolume', { volumeId: here });
});

test('a snapshot keeps the size the volume had when it was taken; restored into a larger claim it grows to the next step', async () => {
  const c = env.client;
  const { volume } = await createVolume(c, {
    name: 'pvc-snap-size',
    volumeCapabilities: caps,
    parameters: { deploymentType: 'PERSISTENT_2', perUnitStorageThroughput: '125' },
    capacityRange: { requiredBytes: String(1200 * 2 ** 30) },
  });
  const snapshot = async () =>
    eventually(
      'the snapshot to be ready',
      async () => {
        const r = await c.controller<{
          snapshot: { snapshotId: string; sizeBytes: string; readyToUse: boolean };
        }>('CreateSnapshot', { name: 'snap-size', sourceVolumeId: volume.volumeId });
        return r.snapshot.readyToUse ? r.snapshot : undefined;
      },
      120_000,
    );
  const taken = await snapshot();
  assert.equal(taken.sizeBytes, String(1200 * 2 ** 30));
  await c.controller('ControllerExpandVolume', {
    volumeId: volume.volumeId,
    capacityRange: { requiredBytes: String(2400 * 2 ** 30) },
  });
  await env.h.waitFor(
    'main',
    'pvc-snap-size',
    'grown',
    (s) => s.storageCapacity === 2400 && s.lifecycle === 'AVAILABLE',
  );
  assert.equal((await snapshot()).sizeBytes, String(1200 * 2 ** 30), 'CreateSnapshot repeated');
  const listed = await c.controller<{ entries: { snapshot: { snapshotId: string; sizeBytes: string } }[] }>(
    'ListSnapshots',
    { snapshotId: taken.snapshotId },
  );
  assert.deepEqual(
    listed.entries.map((e) => e.snapshot.sizeBytes),
    [String(1200 * 2 ** 30)],
  );
  const restore = (name: string, limit?: number) => ({
    name,
    volumeCapabilities: caps,
    parameters: { deploymentType: 'PERSISTENT_2', perUnitStorageThroughput: '125' },
    capacityRange: { requiredBytes: String(1201 * 2 ** 30), ...(limit && { limitBytes: String(limit) }) },
    volumeContentSource: { snapshot: { snapshotId: taken.snapshotId } },
  });
  await assert.rejects(
    createVolume(c, restore('pvc-restore-over', 2000 * 2 ** 30)),
    codeOf(status.OUT_OF_RANGE, /2400 GiB .* above the limit/),
  );
  await eventually(
    'the refused restore to leave no FileSystem',
    async () => ((await env.h.getFs('main', 'pvc-restore-over')) ? undefined : true),
    120_000,
  );
  const restored = await createVolume(c, restore('pvc-restore-larger'));
  assert.equal(restored.volume.capacityBytes, String(2400 * 2 ** 30));
  assert.equal((await env.h.getFs('main', 'pvc-restore-larger'))?.status?.storageCapacity, 2400);
  await c.controller('DeleteVolume', { volumeId: restored.volume.volumeId });
  await c.controller('DeleteSnapshot', { snapshotId: taken.snapshotId });
  await c.controller('DeleteVolume', { volumeId: volume.volumeId });
});
