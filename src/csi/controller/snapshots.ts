// Snapshots of file-system-per-volume volumes: a Backup resource per VolumeSnapshotContent (FSx CreateBackup through the operator).
import { API_VERSION, type Backup, type FileSystem } from '../../api/index.ts';
import { waitWithin } from '../../lib/wait-for.ts';
import { isKubeError } from '../../platform/kube-errors.ts';
import { CsiError, invalidArgument } from '../csi-error.ts';
import type { Snapshot } from '../proto.ts';
import { formatVolumeId, objectNameFor } from '../volume-id.ts';
import { GIB } from './capacity.ts';
import {
  ANNOTATION_NAME,
  ANNOTATION_SIZE_GIB,
  type ControllerStores,
  LABEL_SNAPSHOT,
  LABEL_VOLUME,
} from './stores.ts';

/** Snapshot IDs: `snap/<namespace>/<backup>` names the Backup resource. */
export function formatSnapshotId(namespace: string, backup: string): string {
  return `snap/${namespace}/${backup}`;
}

/** The Backup a snapshot ID names; undefined for anything that is not a Nacre snapshot ID (it does not exist). */
export function parseSnapshotId(id: string): { namespace: string; backup: string } | undefined {
  const m = /^snap\/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)$/.exec(id);
  return m?.[1] && m[3] ? { namespace: m[1], backup: m[3] } : undefined;
}

function timestamp(text: string | undefined): { seconds: string; nanos: number } {
  const ms = text ? Date.parse(text) : Number.NaN;
  const t = Number.isNaN(ms) ? 0 : ms;
  return { seconds: String(Math.floor(t / 1000)), nanos: (t % 1000) * 1_000_000 };
}

/** The size of the volume when its snapshot was taken, as CreateSnapshot recorded it; else `fallbackGiB`. */
export function snapshotSizeGiB(b: Backup, fallbackGiB: number): number {
  const recorded = Number(b.metadata.annotations?.[ANNOTATION_SIZE_GIB]);
  return Number.isSafeInteger(recorded) && recorded > 0 ? recorded : fallbackGiB;
}

/** The CSI view of a Backup resource the driver made; `sizeGiB` for one made before sizes were recorded. */
export function snapshotOf(b: Backup, sizeGiB: number): Snapshot {
  const ns = b.metadata.namespace ?? '';
  return {
    snapshotId: formatSnapshotId(ns, b.metadata.name),
    sourceVolumeId: formatVolumeId({
      kind: 'fs',
      namespace: ns,
      fileSystem: b.spec.fileSystemRef?.name ?? '',
    }),
    creationTime: timestamp(b.status?.creationTime ?? b.metadata.creationTimestamp),
    readyToUse: b.status?.lifecycle === 'AVAILABLE',
    sizeBytes: String(snapshotSizeGiB(b, sizeGiB) * GIB),
  };
}

function backupFailure(b: Backup): CsiError | undefined {
  const s = b.status;
  const synced = s?.conditions?.find((c) => c.type === 'Synced');
  if (s?.lifecycle === 'FAILED') {
    return new CsiError('Internal', `backup ${b.metadata.name} FAILED: ${s.failureDetails?.message ?? ''}`);
  }
  if (synced?.status === 'False' && (synced.reason === 'InvalidRequest' || synced.reason === 'Unsupported')) {
    return new CsiError(
      'FailedPrecondition',
      `the backend refused backup ${b.metadata.name}: ${synced.message}`,
    );
  }
  return undefined;
}

export interface SnapshotDeps {
  stores: ControllerStores;
  waitMs: number;
}

/**
 * Makes (or finds again) the Backup for snapshot `name` of a file-system volume. Returns with
 * readyToUse false while the backup is still being taken (the snapshotter calls again); the same
 * name with another source is AlreadyExists; SCRATCH file systems (no backups in FSx) are
 * FailedPrecondition and nothing is created.
 */
export async function createSnapshot(
  deps: SnapshotDeps,
  req: { name: string; source: { namespace: string; fileSystem: string }; sourceVolumeId: string },
  signal: AbortSignal,
): Promise<Snapshot> {
  const { fileSystems, backups } = deps.stores;
  const ns = req.source.namespace;
  const fs: FileSystem | undefined = await fileSystems.get(ns, req.source.fileSystem, signal);
  if (fs?.metadata.labels?.[LABEL_VOLUME] !== 'true') {
    throw new CsiError('NotFound', `source volume ${req.sourceVolumeId} does not exist`);
  }
  const deployment = fs.spec.lustreConfiguration?.deploymentType ?? fs.status?.deploymentType ?? 'SCRATCH_1';
  if (!deployment.startsWith('PERSISTENT')) {
    throw new CsiError(
      'FailedPrecondition',
      `volume ${req.sourceVolumeId} is a ${deployment} file system, and FSx keeps backups of PERSISTENT_1 and PERSISTENT_2 only: use a PERSISTENT deploymentType to snapshot`,
    );
  }
  const name = objectNameFor(req.name);
  const size = fs.status?.storageCapacity ?? fs.spec.storageCapacity ?? 0;
  let b = await backups.get(ns, name, signal);
  if (!b) {
    const obj: Backup = {
      apiVersion: API_VERSION,
      kind: 'Backup',
      metadata: {
        name,
        namespace: ns,
        labels: { [LABEL_SNAPSHOT]: 'true' },
        annotations: { [ANNOTATION_NAME]: req.name, [ANNOTATION_SIZE_GIB]: String(size) },
      },
      spec: { fileSystemRef: { name: req.source.fileSystem } },
    };
    try {
      b = await backups.create(obj, signal);
    } catch (err) {
      if (!isKubeError(err, 'Conflict')) throw err;
      b = await backups.get(ns, name, signal);
      if (!b) throw new CsiError('Aborted', `snapshot "${req.name}" is being created concurrently; retry`);
    }
  }
  if (b.spec.fileSystemRef?.name !== req.source.fileSystem) {
    throw new CsiError('AlreadyExists', `snapshot "${req.name}" exists for another volume`);
  }
  const settled = await waitWithin(
    `Backup ${ns}/${name} to settle`,
    async () => {
      const cur = await backups.get(ns, name, signal);
      if (!cur) return new CsiError('Aborted', `Backup ${ns}/${name} vanished while being created; retry`);
      if (cur.status?.lifecycle === 'AVAILABLE') return cur;
      return backupFailure(cur);
    },
    { timeoutMs: deps.waitMs, intervalMs: 250, signal },
  );
  if (settled instanceof CsiError) {
    if (settled.code !== 'Aborted') await backups.delete(ns, name, signal);
    throw settled;
  }
  return snapshotOf(settled ?? b, size);
}

/** Deletes a snapshot's Backup; an unknown or malformed ID is success (it does not exist). */
export async function deleteSnapshot(
  deps: SnapshotDeps,
  snapshotId: string,
  signal: AbortSignal,
): Promise<void> {
  if (snapshotId === '') throw invalidArgument('snapshot ID is required');
  const id = parseSnapshotId(snapshotId);
  if (!id) return;
  const b = await deps.stores.backups.get(id.namespace, id.backup, signal);
  if (b?.metadata.labels?.[LABEL_SNAPSHOT] !== 'true') return;
  await deps.stores.backups.delete(id.namespace, id.backup, signal);
}

/** The Backup a snapshot ID names, when it exists and is one of the driver's. */
export async function snapshotBackup(
  deps: SnapshotDeps,
  snapshotId: string,
  signal: AbortSignal,
): Promise<Backup | undefined> {
  const id = parseSnapshotId(snapshotId);
  if (!id) return undefined;
  const b = await deps.stores.backups.get(id.namespace, id.backup, signal);
  return b && b.metadata.labels?.[LABEL_SNAPSHOT] === 'true' && !b.metadata.deletionTimestamp ? b : undefined;
}
