// Volumes that are a file system each: a FileSystem resource per PV, created, grown, restored from a Backup and deleted through the operator.
import { createHash } from 'node:crypto';
import { API_VERSION, type Backup, type FileSystem, type FileSystemSpec } from '../../api/index.ts';
import { waitWithin } from '../../lib/wait-for.ts';
import { isKubeError } from '../../platform/kube-errors.ts';
import { CsiError } from '../csi-error.ts';
import type { Volume } from '../proto.ts';
import { formatVolumeId, VOLUME_CONTEXT } from '../volume-id.ts';
import { fileSystemCapacityGiB, GIB, type Range, roundUpGiB } from './capacity.ts';
import { ensureAssociation } from './fs-association.ts';
import { growRestored, restoreRangeCheck } from './restore-growth.ts';
import type { AssociationParams } from './s3-parameters.ts';
import { dataRepositoryReady, terminalFailure } from './settling.ts';
import { ANNOTATION_NAME, ANNOTATION_REQUEST, type ControllerStores, LABEL_VOLUME } from './stores.ts';

export interface FsVolumeDeps {
  stores: ControllerStores;
  /** Namespace of the FileSystem resources the driver creates. */
  namespace: string;
  /** How long one CreateVolume waits for a new file system before answering Aborted (retry). */
  waitMs: number;
}

/** The volume a FileSystem resource made per volume (or named statically) stands for; undefined until it is AVAILABLE. */
export function availableVolume(fs: FileSystem, volumeId: string, subPath = ''): Volume | undefined {
  const s = fs.status;
  if (s?.lifecycle !== 'AVAILABLE' || !s.dnsName || !s.mountName) return undefined;
  return {
    volumeId,
    capacityBytes: String((s.storageCapacity ?? fs.spec.storageCapacity ?? 0) * GIB),
    volumeContext: {
      [VOLUME_CONTEXT.backend]: s.backend ?? fs.spec.backend ?? 'emulated',
      [VOLUME_CONTEXT.dnsName]: s.dnsName,
      [VOLUME_CONTEXT.mountName]: s.mountName,
      [VOLUME_CONTEXT.subPath]: subPath,
      [VOLUME_CONTEXT.fileSystemId]: s.fileSystemID ?? '',
      [VOLUME_CONTEXT.fileSystemNamespace]: fs.metadata.namespace ?? '',
      [VOLUME_CONTEXT.fileSystemName]: fs.metadata.name,
    },
  };
}

/** JSON with every object's keys sorted: StorageClass parameters arrive in any order (a Go map). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  const entries = Object.entries(v).filter(([, x]) => x !== undefined);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
}

function fingerprint(req: CreateFsVolume): string {
  const { spec, range, association } = req;
  const snapshot = req.snapshot?.snapshotId;
  const text = canonical({
    spec,
    association,
    required: range.required,
    limit: range.limit,
    snapshot: snapshot ?? '',
  });
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

export interface CreateFsVolume {
  /** Object name of the FileSystem (from the CSI name). */
  objectName: string;
  csiName: string;
  spec: FileSystemSpec;
  range: Range;
  /** A Backup resource to restore, and the snapshot ID the request named. */
  snapshot?: { backup: Backup; snapshotId: string };
  /** The S3 data repository association the volume is made with (PERSISTENT_2). */
  association?: AssociationParams;
}

/**
 * Creates (or finds again) the FileSystem for a volume and returns the volume once it is
 * AVAILABLE. Aborted while the file system is still being created: the caller repeats the call,
 * which never makes a second one (the object name comes from the CSI name). A request that
 * differs from the one that created the object is AlreadyExists. A file system the backend
 * refuses is deleted again before the error is returned.
 */
export async function createFsVolume(
  deps: FsVolumeDeps,
  req: CreateFsVolume,
  signal: AbortSignal,
): Promise<Volume> {
  const { fileSystems } = deps.stores;
  const ns = deps.namespace;
  const volumeId = formatVolumeId({ kind: 'fs', namespace: ns, fileSystem: req.objectName });
  const print = fingerprint(req);
  let fs = await fileSystems.get(ns, req.objectName, signal);
  if (!fs) {
    const spec: FileSystemSpec = { ...req.spec };
    if (req.snapshot) {
      const id = req.snapshot.backup.status?.backupID;
      if (req.snapshot.backup.status?.lifecycle !== 'AVAILABLE' || !id) {
        throw new CsiError('Aborted', `snapshot ${req.snapshot.snapshotId} is not ready yet; retry`);
      }
      const early = restoreRangeCheck(req.snapshot.backup, req.range);
      if (early) throw early;
      spec.backupID = id;
      delete spec.lustreConfiguration;
    } else {
      spec.storageCapacity = fileSystemCapacityGiB(req.range, req.spec);
    }
    const obj: FileSystem = {
      apiVersion: API_VERSION,
      kind: 'FileSystem',
      metadata: {
        name: req.objectName,
        namespace: ns,
        labels: { [LABEL_VOLUME]: 'true' },
        annotations: { [ANNOTATION_NAME]: req.csiName, [ANNOTATION_REQUEST]: print },
      },
      spec,
    };
    try {
      fs = await fileSystems.create(obj, signal);
    } catch (err) {
      if (!isKubeError(err, 'Conflict')) throw err;
      fs = await fileSystems.get(ns, req.objectName, signal);
      if (!fs)
        throw new CsiError('Aborted', `file system ${req.objectName} is being created concurrently; retry`);
    }
  }
  if (fs.metadata.annotations?.[ANNOTATION_REQUEST] !== print) {
    throw new CsiError(
      'AlreadyExists',
      `volume "${req.csiName}" exists (FileSystem ${ns}/${req.objectName}) with other parameters, capacity or source`,
    );
  }
  if (fs.metadata.deletionTimestamp) {
    throw new CsiError('Aborted', `volume "${req.csiName}" is being deleted; retry once it is gone`);
  }
  const settled = await waitWithin(
    `FileSystem ${ns}/${req.objectName} to settle`,
    async () => {
      const cur = await fileSystems.get(ns, req.objectName, signal);
      if (!cur)
        return new CsiError(
          'Aborted',
          `FileSystem ${ns}/${req.objectName} vanished while being created; retry`,
        );
      const link = dataRepositoryReady(cur);
      if (link instanceof CsiError) return link;
      return (link ? availableVolume(cur, volumeId) : undefined) ?? terminalFailure(cur);
    },
    { timeoutMs: deps.waitMs, intervalMs: 250, signal },
  );
  if (settled === undefined) {
    throw new CsiError(
      'Aborted',
      `file system for volume "${req.csiName}" (FileSystem ${ns}/${req.objectName}) is still being created; retry`,
    );
  }
  if (settled instanceof CsiError) {
    if (settled.code !== 'Aborted') await fileSystems.delete(ns, req.objectName, signal);
    throw settled;
  }
  if (req.association && !req.snapshot) await ensureAssociation(deps, req, req.association, signal);
  if (req.snapshot) {
    let volume: Volume;
    try {
      volume = await growRestored(deps, req.objectName, req.range, settled, signal);
    } catch (err) {
      // A restore that cannot be this volume: delete it, or nothing ever would (the provisioner calls
      // DeleteVolume only for volumes CreateVolume returned). Never one grown by an expansion since: a
      // volume in use (one smaller than the claim was never returned for it).
      if (err instanceof CsiError && err.code === 'Aborted') throw err;
      const cur = await fileSystems.get(ns, req.objectName, signal);
      const unreturned = Number(settled.capacityBytes) < req.range.required;
      if (cur?.spec.backupID && (unreturned || cur.spec.storageCapacity === req.spec.storageCapacity)) {
        await fileSystems.delete(ns, req.objectName, signal);
      }
      throw err;
    }
    volume.contentSource = { snapshot: { snapshotId: req.snapshot.snapshotId } };
    return volume;
  }
  return settled;
}
/** Deletes the FileSystem of a volume (the operator deletes the file system, then the object). Gone already is success. */
export async function deleteFsVolume(
  deps: FsVolumeDeps,
  id: { namespace: string; fileSystem: string },
  signal: AbortSignal,
): Promise<void> {
  const fs = await deps.stores.fileSystems.get(id.namespace, id.fileSystem, signal);
  if (!fs) return;
  if (fs.metadata.labels?.[LABEL_VOLUME] !== 'true') {
    throw new CsiError(
      'FailedPrecondition',
      `FileSystem ${id.namespace}/${id.fileSystem} was not made by this driver for a volume; it is not deleted`,
    );
  }
  await deps.stores.associations.delete(id.namespace, id.fileSystem, signal);
  await deps.stores.fileSystems.delete(id.namespace, id.fileSystem, signal);
}

/** Grows a file-system volume to the next valid capacity (UpdateFileSystem through the operator); never shrinks. */
export async function expandFsVolume(
  deps: FsVolumeDeps,
  id: { namespace: string; fileSystem: string },
  range: Range,
  signal: AbortSignal,
): Promise<number> {
  const fs = await deps.stores.fileSystems.get(id.namespace, id.fileSystem, signal);
  if (!fs) throw new CsiError('NotFound', `volume fs/${id.namespace}/${id.fileSystem} does not exist`);
  const current = fs.spec.storageCapacity ?? fs.status?.storageCapacity ?? 0;
  const deploymentType = (fs.spec.lustreConfiguration?.deploymentType ?? fs.status?.deploymentType) as
    | NonNullable<FileSystemSpec['lustreConfiguration']>['deploymentType']
    | undefined;
  const spec: FileSystemSpec = deploymentType
    ? { ...fs.spec, lustreConfiguration: { ...fs.spec.lustreConfiguration, deploymentType } }
    : fs.spec;
  const wanted = roundUpGiB(range.required, spec);
  if (range.limit !== 0 && wanted * GIB > range.limit) {
    throw new CsiError(
      'OutOfRange',
      `the next valid capacity is ${wanted} GiB, above the limit of ${range.limit} bytes`,
    );
  }
  if (wanted <= current) return current * GIB;
  await deps.stores.fileSystems.mergePatch(
    id.namespace,
    id.fileSystem,
    { spec: { storageCapacity: wanted } },
    signal,
  );
  return wanted * GIB;
}
