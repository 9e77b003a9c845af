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

/**
 * The driver's volumes in every namespace: FileSystems made per volume, and the volume directories
 * of every shared file system it reaches. A shared file system that does not answer within
 * `listTimeoutMs` is left out (logged), so one unreachable file system does not hide the others.
 */
export async function listVolumes(
  deps: ControllerDeps,
  req: RequestOf<ControllerService, 'ListVolumes'>,
  signal: AbortSignal,
): Promise<ResponseOf<ControllerService, 'ListVolumes'>> {
  const volumes: Volume[] = [];
  const own = await deps.stores.fileSystems.list('', `${LABEL_VOLUME}=true`, signal);
  for (const fs of own) {
    if (fs.metadata.deletionTimestamp) continue;
    const namespace = fs.metadata.namespace ?? deps.namespace;
    const v = availableVolume(fs, formatVolumeId({ kind: 'fs', namespace, fileSystem: fs.metadata.name }));
    if (v) volumes.push(v);
  }
  const shared: FileSystem[] = await deps.stores.fileSystems.list('', `${LABEL_SHARED}=true`, signal);
  const lists = await Promise.all(shared.map((fs) => sharedVolumes(deps, fs, signal)));
  for (const list of lists) volumes.push(...list);
  const { entries, nextToken } = page(volumes, (v) => v.volumeId ?? '', req.maxEntries, req.startingToken);
  return { entries: entries.map((volume) => ({ volume, status: { publishedNodeIds: [] } })), nextToken };
}

/** Runs `fn` with a signal that also ends after `ms`; rejects when that time is up even if `fn` does not follow its signal. */
export async function within<T>(
  signal: AbortSignal,
  ms: number,
  fn: (s: AbortSignal) => Promise<T>,
): Promise<T> {
  const bounded = AbortSignal.any([signal, AbortSignal.timeout(ms)]);
  // A connection being opened does not follow the call's signal: the wait for it is bounded here.
  const timedOut = new Promise<never>((_, reject) =>
    bounded.addEventListener('abort', () => reject(bounded.reason), { once: true }),
  );
  timedOut.catch(() => undefined);
  return Promise.race([fn(bounded), timedOut]);
}

/** Volume IDs last listed on each shared file system ("ns/name"), for health reports while it cannot be reached. */
const lastSeen = new WeakMap<ControllerDeps, Map<string, string[]>>();

export function volumesLastSeen(deps: ControllerDeps, namespace: string, name: string): string[] {
  return lastSeen.get(deps)?.get(`${namespace}/${name}`) ?? [];
}

/** The volume directories of one shared file system; none when it is not AVAILABLE or does not answer in time. */
async function sharedVolumes(deps: ControllerDeps, fs: FileSystem, signal: AbortSignal): Promise<Volume[]> {
  const namespace = fs.metadata.namespace ?? deps.namespace;
  const name = fs.metadata.name;
  try {
    const volumes = await within(signal, deps.listTimeoutMs ?? 5_000, async (s) => {
      const target = await sharedFs(deps.stores, namespace, name, s);
      const client = await deps.connections.get(target, s);
      return await listDirVolumes(client, target, s);
    });
    const seen = lastSeen.get(deps) ?? new Map<string, string[]>();
    lastSeen.set(deps, seen);
    seen.set(
      `${namespace}/${name}`,
      volumes.map((v) => v.volumeId ?? ''),
    );
    return volumes;
  } catch (err) {
    signal.throwIfAborted();
    deps.log?.warn('ListVolumes leaves out the volumes of a shared file system it cannot reach', {
      fileSystem: `${namespace}/${name}`,
      error: err instanceof Error ? err.message : String(err),
    });
    return [];
  }
}

export async function listSnapshots(
  deps: ControllerDeps,
  req: RequestOf<ControllerService, 'ListSnapshots'>,
  signal: AbortSignal,
): Promise<ResponseOf<ControllerService, 'ListSnapshots'>> {
  let namespace = '';
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
  // Sizes of the source volumes now: the size of a snapshot made before CreateSnapshot recorded it.
  const sizes = new Map<string, number>();
  for (const fs of await deps.stores.fileSystems.list(namespace, `${LABEL_VOLUME}=true`, signal)) {
    const key = `${fs.metadata.namespace}/${fs.metadata.name}`;
    sizes.set(key, fs.status?.storageCapacity ?? fs.spec.storageCapacity ?? 0);
  }
  const snapshots = backups
    .filter((b) => !b.metadata.deletionTimestamp)
    .filter(
      (b) =>
        req.snapshotId === '' ||
        formatSnapshotId(b.metadata.namespace ?? '', b.metadata.name) === req.snapshotId,
    )
    .map((b) => snapshotOf(b, sizes.get(`${b.metadata.namespace}/${b.spec.fileSystemRef?.name ?? ''}`) ?? 0))
    .filter((s) => req.sourceVolumeId === '' || s.sourceVolumeId === req.sourceVolumeId);
  const { entries, nextToken } = page(
    snapshots,
    (s) => s.snapshotId ?? '',
    req.maxEntries,
    req.startingToken,
  );
  return { entries: entries.map((snapshot) => ({ snapshot })), nextToken };
}
