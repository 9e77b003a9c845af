// The chart-installed driver's resize and snapshot scenarios on the harness: the release's own resizer and snapshotter sidecars grow a claim, snapshot one and restore it into another.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pollUntil } from '../harness/processes.ts';
import type { PersistentVolume, Published } from './kubelet-calls.ts';

/** What the scenarios need from the install test: kubectl (in `namespace`). */
export interface KubeWorld {
  kubectl(args: string[], input?: string): Promise<string>;
  namespace: string;
}

/** ... and the kubelet's calls on a node. */
export interface VolumeWorld extends KubeWorld {
  publish(node: string, pv: PersistentVolume, podUid: string): Promise<Published>;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  assert.ok(await pollUntil(check, timeoutMs, { intervalMs: 500 }), `timed out waiting for ${what}`);
}

const jsonpath = (w: VolumeWorld, what: string[], path: string) =>
  w.kubectl(['-n', w.namespace, 'get', ...what, '-o', `jsonpath=${path}`]);

/** A claim of `storageClass`, bound; its PV. */
export async function boundClaim(
  w: VolumeWorld,
  name: string,
  storageClass: string,
  size: string,
  dataSource?: object,
): Promise<PersistentVolume> {
  await w.kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: w.namespace },
      spec: {
        accessModes: ['ReadWriteMany'],
        storageClassName: storageClass,
        resources: { requests: { storage: size } },
        ...(dataSource && { dataSource }),
      },
    }),
  );
  await waitFor(
    `PVC ${w.namespace}/${name} Bound`,
    async () => (await jsonpath(w, ['pvc', name], '{.status.phase}')) === 'Bound',
  );
  const pv = (await jsonpath(w, ['pvc', name], '{.spec.volumeName}')).trim();
  return JSON.parse(await w.kubectl(['get', 'pv', pv, '-o', 'json'])) as PersistentVolume;
}

/** external-resizer → ControllerExpandVolume: the claim, its PV and the file system all grow. */
export async function growClaim(w: VolumeWorld, name: string, size: string): Promise<void> {
  await w.kubectl([
    '-n',
    w.namespace,
    'patch',
    'pvc',
    name,
    '--type=merge',
    '-p',
    JSON.stringify({ spec: { resources: { requests: { storage: size } } } }),
  ]);
  await waitFor(
    `PVC ${name} at ${size}`,
    async () => (await jsonpath(w, ['pvc', name], '{.status.capacity.storage}')) === size,
  );
  const pv = await jsonpath(w, ['pvc', name], '{.spec.volumeName}');
  assert.equal(await w.kubectl(['get', 'pv', pv, '-o', 'jsonpath={.spec.capacity.storage}']), size);
}

/**
 * A PERSISTENT claim written on node-a, snapshotted (external-snapshotter → CreateSnapshot → a
 * Backup) and restored into a new claim that node-b reads the same bytes from; then the snapshot
 * and both claims are deleted and their PVs go.
 */
export async function snapshotAndRestore(w: VolumeWorld, storageClass: string, snapshotClass: string) {
  const source = await boundClaim(w, 'durable', storageClass, '1200Gi');
  const data = randomBytes(256 * 1024);
  const writer = await w.publish('node-a', source, 'pod-durable');
  try {
    await writeFile(join(writer.targetPath, 'kept'), data);
  } finally {
    await writer.release();
  }
  await w.kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: 'durable-snap', namespace: w.namespace },
      spec: { volumeSnapshotClassName: snapshotClass, source: { persistentVolumeClaimName: 'durable' } },
    }),
  );
  await waitFor(
    'VolumeSnapshot durable-snap readyToUse',
    async () => (await jsonpath(w, ['volumesnapshot', 'durable-snap'], '{.status.readyToUse}')) === 'true',
    300_000,
  );
  const restored = await boundClaim(w, 'restored', storageClass, '1200Gi', {
    apiGroup: 'snapshot.storage.k8s.io',
    kind: 'VolumeSnapshot',
    name: 'durable-snap',
  });
  assert.notEqual(restored.spec.csi.volumeHandle, source.spec.csi.volumeHandle);
  const reader = await w.publish('node-b', restored, 'pod-restored');
  try {
    assert.ok(
      (await readFile(join(reader.targetPath, 'kept'))).equals(data),
      'the restored claim has the bytes',
    );
    assert.deepEqual(await readdir(reader.targetPath), ['kept']);
  } finally {
    await reader.release();
  }
  await w.kubectl(['-n', w.namespace, 'delete', 'volumesnapshot', 'durable-snap', '--wait=false']);
  await w.kubectl(['-n', w.namespace, 'delete', 'pvc', 'durable', 'restored', '--wait=false']);
  await waitFor(
    'the snapshot content gone',
    async () => (await w.kubectl(['get', 'volumesnapshotcontents', '-o', 'name'])).trim() === '',
  );
  for (const pv of [source, restored])
    await waitFor(
      `PV ${pv.metadata.name} gone`,
      async () =>
        (await w.kubectl(['get', 'pv', pv.metadata.name, '--ignore-not-found', '-o', 'name'])).trim() === '',
    );
}

/**
 * The operator's other kinds on FileSystem `fs`: a Backup, a DataRepositoryAssociation and a
 * DataRepositoryTask are each reconciled to a Synced condition (on a SCRATCH_2 file system without
 * a repository the emulator refuses them, and the condition says why), then deleted, their
 * finalizer released.
 */
export async function reconcileOtherKinds(w: KubeWorld, fs: string): Promise<void> {
  const synced = async (kind: string) => {
    const out = await w.kubectl(['-n', w.namespace, 'get', kind, 'x', '-o', 'json', '--ignore-not-found']);
    if (!out.trim()) return undefined;
    const obj = JSON.parse(out) as { status?: { conditions?: { type: string; status: string }[] } };
    return obj.status?.conditions?.find((c) => c.type === 'Synced')?.status;
  };
  const others = {
    Backup: {},
    DataRepositoryAssociation: { fileSystemPath: '/ns1', dataRepositoryPath: 's3://nowhere/prefix/' },
    DataRepositoryTask: { type: 'EXPORT_TO_REPOSITORY', report: { enabled: false } },
  };
  for (const [kind, spec] of Object.entries(others)) {
    const metadata = { name: 'x', namespace: w.namespace };
    const body = {
      apiVersion: 'fsx.nacre.dev/v1alpha1',
      kind,
      metadata,
      spec: { fileSystemRef: { name: fs }, ...spec },
    };
    await w.kubectl(['apply', '-f', '-'], JSON.stringify(body));
    await waitFor(`${kind} ${w.namespace}/x reconciled`, async () => (await synced(kind)) !== undefined);
    await w.kubectl(['-n', w.namespace, 'delete', kind, 'x', '--wait=false']);
    await waitFor(`${kind} ${w.namespace}/x deleted`, async () => (await synced(kind)) === undefined);
  }
}
