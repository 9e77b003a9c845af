// The real external-provisioner, external-resizer and external-snapshotter against the CSI controller: PVCs of each mode bound, grown, snapshotted, restored and deleted.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { type ProcessRecord, spawnServer, stopServer } from '../../e2e/harness/processes.ts';
import { toolPath } from '../../e2e/harness/tools.ts';
import { eventually } from '../../test/controller/operator-env.ts';
import { type CsiEnv, startCsiEnv } from '../../test/csi/csi-env.ts';
import { socketPathOf } from './server.ts';

let env: CsiEnv;
const sidecars: ProcessRecord[] = [];

async function kubectl(args: string[], stdin?: string): Promise<string> {
  const r = await env.h.env.kubectl(args, stdin);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

before(
  async () => {
    const signal = AbortSignal.timeout(40 * 60_000);
    const [provisioner, resizer, snapshotter, snapshotController] = await Promise.all([
      toolPath('csi-provisioner', signal),
      toolPath('csi-resizer', signal),
      toolPath('csi-snapshotter', signal),
      toolPath('snapshot-controller', signal),
    ]);
    env = await startCsiEnv();
    const crdDir = join(dirname(snapshotter), 'crd');
    for (const f of await readdir(crdDir)) await kubectl(['apply', '-f', join(crdDir, f)]);
    await kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/volumesnapshots.snapshot.storage.k8s.io',
      'crd/volumesnapshotcontents.snapshot.storage.k8s.io',
      'crd/volumesnapshotclasses.snapshot.storage.k8s.io',
    ]);
    const socket = socketPathOf(env.endpoint);
    const kube = `--kubeconfig=${env.h.env.cluster.kubeconfigPath}`;
    const run = async (name: string, command: string, args: string[]) =>
      sidecars.push(
        await spawnServer({
          name,
          command,
          args: [kube, '--leader-election=false', '--v=4', ...args],
          logFile: join(env.dir, `${name}.log`),
          keep: false,
        }),
      );
    await run('csi-provisioner', provisioner, [
      `--csi-address=${socket}`,
      '--extra-create-metadata',
      '--timeout=60s',
      '--retry-interval-start=500ms',
      '--retry-interval-max=5s',
    ]);
    await run('csi-resizer', resizer, [`--csi-address=${socket}`, '--timeout=60s']);
    await run('snapshot-controller', snapshotController, []);
    await run('csi-snapshotter', snapshotter, [`--csi-address=${socket}`, '--timeout=60s']);
    await kubectl(['create', 'namespace', 'apps']);
  },
  { timeout: 45 * 60_000 },
);
after(async () => {
  for (const s of sidecars.reverse()) await stopServer(s, 5_000).catch(() => undefined);
  await env?.stop();
});

const storageClasses = (shared: string) => `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: nacre-dir }
provisioner: csi.nacre.dev
parameters: { fileSystemName: ${shared}, stripeCount: "2", onDelete: delete }
reclaimPolicy: Delete
allowVolumeExpansion: true
volumeBindingMode: Immediate
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: nacre-fs }
provisioner: csi.nacre.dev
parameters: { deploymentType: PERSISTENT_2, perUnitStorageThroughput: "125" }
reclaimPolicy: Delete
allowVolumeExpansion: true
volumeBindingMode: Immediate
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: { name: nacre-snap }
driver: csi.nacre.dev
deletionPolicy: Delete
`;

const claim = (name: string, sc: string, size: string, extra = '') => `
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: ${name}, namespace: apps }
spec:
  accessModes: [ReadWriteMany]
  storageClassName: ${sc}
  resources: { requests: { storage: ${size} } }
${extra}`;

async function bound(name: string): Promise<{ pv: string; capacity: string; handle: string }> {
  await kubectl([
    'wait',
    '--for=jsonpath={.status.phase}=Bound',
    '--timeout=300s',
    '-n',
    'apps',
    `pvc/${name}`,
  ]);
  const pv = await kubectl(['get', 'pvc', name, '-n', 'apps', '-o', 'jsonpath={.spec.volumeName}']);
  const [capacity = '', handle = ''] = (
    await kubectl(['get', 'pv', pv, '-o', 'jsonpath={.spec.capacity.storage}|{.spec.csi.volumeHandle}'])
  ).split('|');
  return { pv, capacity, handle };
}

test('PVCs of each mode become Bound PVs, grow, snapshot and restore, and leave nothing behind when deleted', async (t) => {
  await kubectl(['apply', '-f', '-'], storageClasses(env.shared));
  await kubectl(
    ['apply', '-f', '-'],
    claim('dir-claim', 'nacre-dir', '1Gi') + claim('fs-claim', 'nacre-fs', '100Gi'),
  );
  // A static PV: the shared file system's root, bound to a claim by name; the node mounts what volumeAttributes name.
  const sharedStatus = (await env.h.getFs(env.namespace, env.shared))?.status;
  await kubectl(
    ['apply', '-f', '-'],
    `apiVersion: v1
kind: PersistentVolume
metadata: { name: static-pv }
spec:
  capacity: { storage: 1Gi }
  accessModes: [ReadWriteMany]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  claimRef: { namespace: apps, name: static-claim }
  csi:
    driver: csi.nacre.dev
    volumeHandle: static/${env.namespace}/${env.shared}
    volumeAttributes: { backend: emulated, dnsName: "${sharedStatus?.dnsName}", mountName: ${sharedStatus?.mountName}, subPath: "" }
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: static-claim, namespace: apps }
spec:
  accessModes: [ReadWriteMany]
  storageClassName: ""
  volumeName: static-pv
  resources: { requests: { storage: 1Gi } }
`,
  );
  const dir = await bound('dir-claim');
  t.diagnostic(`dir-claim: ${JSON.stringify(dir)}`);
  assert.match(dir.handle, new RegExp(`^dir/${env.namespace}/${env.shared}/pvc-`));
  assert.equal(dir.capacity, '1Gi');
  const fs = await bound('fs-claim');
  t.diagnostic(`fs-claim: ${JSON.stringify(fs)}`);
  assert.match(fs.handle, new RegExp(`^fs/${env.namespace}/pvc-`));
  assert.equal(fs.capacity, '1200Gi');
  assert.equal((await bound('static-claim')).handle, `static/${env.namespace}/${env.shared}`);

  // Grow the sub-directory volume: its quota, the PV and the claim follow.
  await kubectl([
    'patch',
    'pvc',
    'dir-claim',
    '-n',
    'apps',
    '--type=merge',
    '-p',
    '{"spec":{"resources":{"requests":{"storage":"3Gi"}}}}',
  ]);
  await kubectl([
    'wait',
    '--for=jsonpath={.status.capacity.storage}=3Gi',
    '--timeout=120s',
    '-n',
    'apps',
    'pvc/dir-claim',
  ]);
  const listed = await env.client.controller<{
    entries: Array<{ volume: { volumeId: string; capacityBytes: string } }>;
  }>('ListVolumes', {});
  assert.equal(
    listed.entries.find((e) => e.volume.volumeId === dir.handle)?.volume.capacityBytes,
    String(3 * 2 ** 30),
  );

  // Snapshot the file-system volume (an FSx backup) and restore it into a new claim.
  await kubectl(
    ['apply', '-f', '-'],
    `apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: { name: snap-1, namespace: apps }
spec: { volumeSnapshotClassName: nacre-snap, source: { persistentVolumeClaimName: fs-claim } }
`,
  );
  await kubectl([
    'wait',
    '--for=jsonpath={.status.readyToUse}=true',
    '--timeout=300s',
    '-n',
    'apps',
    'volumesnapshot/snap-1',
  ]);
  await kubectl(
    ['apply', '-f', '-'],
    claim(
      'restored',
      'nacre-fs',
      '1200Gi',
      '  dataSource: { name: snap-1, kind: VolumeSnapshot, apiGroup: snapshot.storage.k8s.io }',
    ),
  );
  const restored = await bound('restored');
  t.diagnostic(`restored: ${JSON.stringify(restored)}`);
  const restoredFs = await env.h.getFs(env.namespace, restored.handle.split('/')[2]!);
  assert.match(restoredFs?.spec.backupID ?? '', /^backup-/);

  // Delete everything: the PVs go, and with them the FileSystems, Backups and the volume directory.
  await kubectl(['delete', 'volumesnapshot', 'snap-1', '-n', 'apps', '--wait=false']);
  await kubectl([
    'delete',
    'pvc',
    'dir-claim',
    'fs-claim',
    'restored',
    'static-claim',
    '-n',
    'apps',
    '--wait=false',
  ]);
  await eventually(
    'the provisioned PVs to be deleted',
    async () => {
      const pvs = await kubectl(['get', 'pv', '-o', 'name']);
      return pvs.split('\n').filter((l) => l.startsWith('persistentvolume/pvc-')).length === 0
        ? true
        : undefined;
    },
    300_000,
  );
  await eventually(
    'the FileSystems and Backups made for volumes to be gone',
    async () => ((await env.leftovers()).length === 0 ? true : undefined),
    300_000,
  );
  const after = await env.client.controller<{ entries: unknown[] }>('ListVolumes', {});
  assert.deepEqual(after.entries, []);
  // The retained static PV stays, as its reclaim policy says; its file system is untouched.
  assert.ok(await env.h.getFs(env.namespace, env.shared));
});
