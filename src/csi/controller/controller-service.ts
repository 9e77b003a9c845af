// The CSI Controller service: requests checked and dispatched by volume kind to file-system, sub-directory and snapshot handlers.
import { CsiError, invalidArgument } from '../csi-error.ts';
import type { ControllerService, VolumeCapability } from '../proto.ts';
import { objectNameFor, parseVolumeId, type VolumeId } from '../volume-id.ts';
import { dirQuotaBytes, rangeOf } from './capacity.ts';
import type { ControllerDeps } from './deps.ts';
import {
  createDirVolume,
  type DirFileSystem,
  deleteDirVolume,
  expandDirVolume,
  findDirVolume,
  type SharedFs,
} from './dir-volumes.ts';
import { createFsVolume, deleteFsVolume, expandFsVolume } from './fs-volumes.ts';
import { listSnapshots, listVolumes } from './listing.ts';
import { type DirVolumeParams, parseVolumeParams } from './parameters.ts';
import { sharedFs } from './shared-fs.ts';
import { createSnapshot, deleteSnapshot, snapshotBackup } from './snapshots.ts';
import { LABEL_SHARED, LABEL_VOLUME } from './stores.ts';
import { getVolumeHealth, listVolumeHealth } from './volume-health.ts';

export type { ControllerDeps } from './deps.ts';

const CAPABILITIES = [
  'CREATE_DELETE_VOLUME',
  'LIST_VOLUMES',
  'CREATE_DELETE_SNAPSHOT',
  'LIST_SNAPSHOTS',
  'EXPAND_VOLUME',
  'SINGLE_NODE_MULTI_WRITER',
  'GET_VOLUME_HEALTH',
  'LIST_VOLUME_HEALTH',
] as const;

/** InvalidArgument unless every capability is a mount with an access mode (all modes work on a shared file system). */
export function checkCapabilities(caps: VolumeCapability[] | undefined): string | undefined {
  if (!caps || caps.length === 0) throw invalidArgument('volume_capabilities is required');
  for (const c of caps) {
    if (!c.accessMode || c.accessMode.mode === 'UNKNOWN')
      throw invalidArgument('every volume capability needs an access_mode');
    if (c.block)
      return 'block access is not supported: Nacre volumes are file systems (use access_type mount)';
    if (!c.mount) throw invalidArgument('every volume capability needs access_type mount');
  }
  return undefined;
}

/** The parsed ID, or NotFound: an ID this driver never made names no volume. */
function volumeIdOf(text: string): VolumeId {
  if (text === '') throw invalidArgument('volume_id is required');
  try {
    return parseVolumeId(text);
  } catch (err) {
    throw new CsiError('NotFound', err instanceof Error ? err.message : String(err));
  }
}

export function controllerService(deps: ControllerDeps): ControllerService {
  const waitMs = deps.waitMs ?? 8_000;
  const fsDeps = { stores: deps.stores, namespace: deps.namespace, waitMs };
  const dirFs = async (ns: string, name: string, signal: AbortSignal): Promise<[SharedFs, DirFileSystem]> => {
    const shared = await sharedFs(deps.stores, ns, name, signal);
    return [shared, await deps.connections.get(shared, signal)];
  };

  const createDir = async (
    name: string,
    params: DirVolumeParams,
    quotaBytes: number,
    signal: AbortSignal,
  ) => {
    const ns = params.fileSystemNamespace ?? deps.namespace;
    let shared: SharedFs;
    try {
      shared = await sharedFs(deps.stores, ns, params.fileSystemName, signal);
    } catch (err) {
      if (err instanceof CsiError && err.code === 'NotFound') {
        throw invalidArgument(
          `parameter fileSystemName: ${err.message}; create it first or fix the StorageClass`,
        );
      }
      throw err;
    }
    const fs = await deps.connections.get(shared, signal);
    const fsObj = await deps.stores.fileSystems.get(ns, params.fileSystemName, signal);
    if (fsObj && fsObj.metadata.labels?.[LABEL_SHARED] !== 'true') {
      // Marks it for ListVolumes, which lists the volumes of shared file systems.
      await deps.stores.fileSystems.mergePatch(
        ns,
        params.fileSystemName,
        { metadata: { labels: { [LABEL_SHARED]: 'true' } } },
        signal,
      );
    }
    return createDirVolume(
      fs,
      shared,
      {
        dir: objectNameFor(name),
        csiName: name,
        quotaBytes,
        onDelete: params.onDelete,
        ...(params.stripeCount !== undefined && { stripeCount: params.stripeCount }),
        ...(params.stripeSize !== undefined && { stripeSize: params.stripeSize }),
      },
      signal,
    );
  };

  return {
    async ControllerGetCapabilities() {
      return { capabilities: CAPABILITIES.map((type) => ({ rpc: { type } })) };
    },

    async CreateVolume(req, { signal }) {
      if (req.name === '') throw invalidArgument('name is required');
      const unsupported = checkCapabilities(req.volumeCapabilities);
      if (unsupported) throw invalidArgument(unsupported);
      const params = parseVolumeParams(req.parameters);
      const range = rangeOf(req.capacityRange);
      const source = req.volumeContentSource;
      if (source?.volume)
        throw invalidArgument('cloning a volume is not supported; snapshot it and restore the snapshot');
      if (params.mode === 'dir') {
        if (source?.snapshot) {
          const id = source.snapshot.snapshotId;
          if (!(await snapshotBackup({ stores: deps.stores, waitMs }, id, signal))) {
            throw new CsiError('NotFound', `snapshot ${id} does not exist`);
          }
          throw invalidArgument(
            'snapshots restore into file-system-per-volume volumes only (no fileSystemName)',
          );
        }
        return { volume: await createDir(req.name, params, dirQuotaBytes(range), signal) };
      }
      let snapshot: Parameters<typeof createFsVolume>[1]['snapshot'];
      if (source?.snapshot) {
        const snapshotId = source.snapshot.snapshotId;
        const backup = await snapshotBackup({ stores: deps.stores, waitMs }, snapshotId, signal);
        if (!backup) throw new CsiError('NotFound', `snapshot ${snapshotId} does not exist`);
        snapshot = { backup, snapshotId };
      }
      const volume = await createFsVolume(
        fsDeps,
        {
          objectName: objectNameFor(req.name),
          csiName: req.name,
          spec: params.spec,
          range,
          ...(snapshot && { snapshot }),
          ...(params.association && { association: params.association }),
        },
        signal,
      );
      return { volume };
    },

    async DeleteVolume(req, { signal }) {
      if (req.volumeId === '') throw invalidArgument('volume_id is required');
      let id: VolumeId;
      try {
        id = parseVolumeId(req.volumeId);
      } catch {
        return {}; // Not an ID this driver makes: no such volume, nothing to delete.
      }
      if (id.kind === 'fs') await deleteFsVolume(fsDeps, id, signal);
      else if (id.kind === 'dir') {
        const fsObj = await deps.stores.fileSystems.get(id.namespace, id.fileSystem, signal);
        if (!fsObj) return {}; // The file system went with its volumes.
        const [, fs] = await dirFs(id.namespace, id.fileSystem, signal);
        await deleteDirVolume(fs, id.dir, signal);
      }
      return {};
    },

    async ValidateVolumeCapabilities(req, { signal }) {
      const id = volumeIdOf(req.volumeId);
      const fsObj = await deps.stores.fileSystems.get(id.namespace, id.fileSystem, signal);
      if (!fsObj || (id.kind === 'fs' && fsObj.metadata.labels?.[LABEL_VOLUME] !== 'true')) {
        throw new CsiError('NotFound', `volume ${req.volumeId} does not exist`);
      }
      if (id.kind === 'dir') {
        const [shared, fs] = await dirFs(id.namespace, id.fileSystem, signal);
        if (!(await findDirVolume(fs, shared, id.dir, signal)))
          throw new CsiError('NotFound', `volume ${req.volumeId} does not exist`);
      }
      const unsupported = checkCapabilities(req.volumeCapabilities);
      if (unsupported) return { message: unsupported, confirmed: null };
      return {
        confirmed: {
          volumeContext: req.volumeContext,
          volumeCapabilities: req.volumeCapabilities,
          parameters: req.parameters,
          mutableParameters: req.mutableParameters,
        },
        message: '',
      };
    },

    async ControllerExpandVolume(req, { signal }) {
      const id = volumeIdOf(req.volumeId);
      if (!req.capacityRange) throw invalidArgument('capacity_range is required');
      const range = rangeOf(req.capacityRange);
      let bytes: number;
      if (id.kind === 'fs') bytes = await expandFsVolume(fsDeps, id, range, signal);
      else if (id.kind === 'dir') {
        const [, fs] = await dirFs(id.namespace, id.fileSystem, signal);
        bytes = await expandDirVolume(fs, id.dir, Math.max(range.required, 1), signal);
      } else {
        throw new CsiError(
          'FailedPrecondition',
          `volume ${req.volumeId} is static: grow FileSystem ${id.namespace}/${id.fileSystem} itself`,
        );
      }
      return { capacityBytes: String(bytes), nodeExpansionRequired: false };
    },

    async CreateSnapshot(req, { signal }) {
      if (req.name === '') throw invalidArgument('name is required');
      if (req.sourceVolumeId === '') throw invalidArgument('source_volume_id is required');
      const id = volumeIdOf(req.sourceVolumeId);
      if (id.kind !== 'fs') {
        throw new CsiError(
          'FailedPrecondition',
          `volume ${req.sourceVolumeId} is not a file system of its own: only file-system-per-volume volumes have snapshots (FSx backups)`,
        );
      }
      const snapshot = await createSnapshot(
        { stores: deps.stores, waitMs },
        { name: req.name, source: id, sourceVolumeId: req.sourceVolumeId },
        signal,
      );
      return { snapshot };
    },

    async DeleteSnapshot(req, { signal }) {
      await deleteSnapshot({ stores: deps.stores, waitMs }, req.snapshotId, signal);
      return {};
    },

    ListVolumes: (req, { signal }) => listVolumes(deps, req, signal),
    ControllerGetVolumeHealth: (req, { signal }) => getVolumeHealth(deps, req, signal),
    ControllerListVolumeHealth: (req, { signal }) => listVolumeHealth(deps, req, signal),
    ListSnapshots: (req, { signal }) => listSnapshots(deps, req, signal),
  };
}
