// ListVolumes and ListSnapshots: the driver's FileSystem and Backup resources and the volume directories of shared file systems.
import type { Backup, FileSystem } from '../../api/index.ts';
import type { ControllerService, RequestOf, ResponseOf, Volume } from '../proto.ts';
import { formatVolumeId, parseVolumeId } from '../volume-id.ts';
import type { ControllerDeps } from './deps.ts';
import { listDirVolumes } from './dir-volumes.ts';
import { availableVolume } from './fs-volumes.ts';
import { page } from './pagination.ts';
import { sharedFs } from './shared-fs.ts';
import { formatSnapshotId, parseSnapshotId, snapshotOf } from './snapshots.ts';
import { LABEL_SHARED, LABEL_SNAPSHOT, LABEL_VOLUME } from './stores.ts';

export async function listVolumes(
  deps: ControllerDeps,
  req: RequestOf<ControllerService, 'ListVolumes'>,
  signal: AbortSignal,
): Promise<ResponseOf<ControllerService, 'ListVolumes'>> {
  const volumes: Volume[] = [];
  const own = await deps.stores.fileSystems.list(deps.namespace, `${LABEL_VOLUME}=true`, signal);
  for (const fs of own) {
    if (fs.metadata.deletionTimestamp) continue;
    const v = availableVolume(
      fs,
      formatVolumeId({ kind: 'fs', namespace: deps.namespace, fileSystem: fs.metadata.name }),
    );
    if (v) volumes.push(v);
  }
  const shared: FileSystem[] = await deps.stores.fileSystems.list(
    deps.namespace,
    `${LABEL_SHARED}=true`,
    signal,
  );
  for (const fs of shared) {
    const target = await sharedFs(deps.stores, deps.namespace, fs.metadata.name, signal).catch(
      () => undefined,
    );
    if (!target) continue;
    const client = await deps.connections.get(target, signal);
    volumes.push(...(await listDirVolumes(client, target, signal)));
  }
  const { entries, nextToken } = page(volumes, (v) => v.volumeId ?? '', req.maxEntries, req.startingToken);
  return { entries: entries.map((volume) => ({ volume, status: { publishedNodeIds: [] } })), nextToken };
}

export async function listSnapshots(
  deps: ControllerDeps,
  req: RequestOf<ControllerService, 'ListSnapshots'>,
  signal: AbortSignal,
): Promise<ResponseOf<ControllerService, 'ListSnapshots'>> {
  let namespace = deps.namespace;
  if (req.snapshotId !== '') {
    const id = parseSnapshotId(req.snapshotId);
    if (!id) return { entries: [], nextToken: '' };
    namespace = id.namespace;
  }
  if (req.sourceVolumeId !== '') {
    try {
      namespace = parseVolumeId(req.sourceVolumeId).namespace;
    } catch {
      return { entries: [], nextToken: '' };
    }
  }
  const backups: Backup[] = await deps.stores.backups.list(namespace, `${LABEL_SNAPSHOT}=true`, signal);
  const sizes = new Map<string, number>();
  for (const fs of await deps.stores.fileSystems.list(namespace, `${LABEL_VOLUME}=true`, signal)) {
    sizes.set(fs.metadata.name, fs.status?.storageCapacity ?? fs.spec.storageCapacity ?? 0);
  }
  const snapshots = backups
    .filter((b) => !b.metadata.deletionTimestamp)
    .filter((b) => req.snapshotId === '' || formatSnapshotId(namespace, b.metadata.name) === req.snapshotId)
    .map((b) => snapshotOf(b, sizes.get(b.spec.fileSystemRef?.name ?? '') ?? 0))
    .filter((s) => req.sourceVolumeId === '' || s.sourceVolumeId === req.sourceVolumeId);
  const { entries, nextToken } = page(
    snapshots,
    (s) => s.snapshotId ?? '',
    req.maxEntries,
    req.startingToken,
  );
  return { entries: entries.map((snapshot) => ({ snapshot })), nextToken };
}
