// ControllerGetVolumeHealth and ControllerListVolumeHealth: volumes whose file system is not usable, or cannot be reached, as the controller sees them.
import type { FileSystem } from '../../api/index.ts';
import { CsiError, invalidArgument } from '../csi-error.ts';
import type { ControllerService, RequestOf, ResponseOf } from '../proto.ts';
import { formatVolumeId, parseVolumeId, type VolumeId } from '../volume-id.ts';
import type { ControllerDeps } from './deps.ts';
import { findDirVolume } from './dir-volumes.ts';
import { volumesLastSeen, within } from './listing.ts';
import { page } from './pagination.ts';
import { sharedFs } from './shared-fs.ts';
import { LABEL_SHARED, LABEL_VOLUME } from './stores.ts';

interface HealthEntry {
  status: 'DEGRADED' | 'INACCESSIBLE';
  reason: string;
  message: string;
}

const pascal = (text: string) =>
  text
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');

/** What is wrong with a FileSystem as the home of volumes: nothing while AVAILABLE (or UPDATING, which FSx serves through). */
export function fileSystemHealth(fs: FileSystem): HealthEntry[] {
  const s = fs.status;
  const where = `file system ${fs.metadata.namespace}/${fs.metadata.name}`;
  const out: HealthEntry[] = [];
  if (s?.lifecycle !== 'AVAILABLE' && s?.lifecycle !== 'UPDATING') {
    const detail = s?.failureDetails?.message ? `: ${s.failureDetails.message}` : '';
    out.push({
      status: 'INACCESSIBLE',
      reason: pascal(s?.lifecycle ?? 'unknown'),
      message: `${where} is ${s?.lifecycle ?? 'not reported yet'}${detail}`,
    });
  }
  const link = s?.dataRepository;
  if (link?.lifecycle === 'MISCONFIGURED' || link?.lifecycle === 'FAILED') {
    out.push({
      status: 'DEGRADED',
      reason: 'DataRepositoryMisconfigured',
      message: `the S3 link of ${where} is ${link.lifecycle}: ${link.failureDetails?.message ?? ''}`,
    });
  }
  return out;
}

const unreachable = (fs: FileSystem, err: unknown): HealthEntry => ({
  status: 'INACCESSIBLE',
  reason: 'FileSystemUnreachable',
  message: `file system ${fs.metadata.namespace}/${fs.metadata.name} does not answer: ${err instanceof Error ? err.message : String(err)}`,
});

/** The adverse conditions of one volume; NotFound for a volume that does not exist. */
async function healthOf(deps: ControllerDeps, id: VolumeId, signal: AbortSignal): Promise<HealthEntry[]> {
  const fs = await deps.stores.fileSystems.get(id.namespace, id.fileSystem, signal);
  const name = `${id.namespace}/${id.fileSystem}`;
  if (id.kind === 'fs') {
    if (fs?.metadata.labels?.[LABEL_VOLUME] !== 'true')
      throw new CsiError('NotFound', `volume fs/${name} does not exist`);
    return fileSystemHealth(fs);
  }
  if (!fs) {
    return [
      { status: 'INACCESSIBLE', reason: 'FileSystemNotFound', message: `FileSystem ${name} does not exist` },
    ];
  }
  const adverse = fileSystemHealth(fs);
  if (id.kind === 'static' || adverse.some((e) => e.status === 'INACCESSIBLE')) return adverse;
  try {
    const found = await within(signal, deps.listTimeoutMs ?? 5_000, async (s) => {
      const target = await sharedFs(deps.stores, id.namespace, id.fileSystem, s);
      return findDirVolume(await deps.connections.get(target, s), target, id.dir, s);
    });
    if (!found) throw new CsiError('NotFound', `volume ${formatVolumeId(id)} does not exist`);
  } catch (err) {
    if (err instanceof CsiError) throw err;
    signal.throwIfAborted();
    return [...adverse, unreachable(fs, err)];
  }
  return adverse;
}

export async function getVolumeHealth(
  deps: ControllerDeps,
  req: RequestOf<ControllerService, 'ControllerGetVolumeHealth'>,
  signal: AbortSignal,
): Promise<ResponseOf<ControllerService, 'ControllerGetVolumeHealth'>> {
  if (req.volumeId === '') throw invalidArgument('volume_id is required');
  let id: VolumeId;
  try {
    id = parseVolumeId(req.volumeId);
  } catch (err) {
    throw new CsiError('NotFound', err instanceof Error ? err.message : String(err));
  }
  return { volumeHealth: { volumeId: req.volumeId, healthStatuses: await healthOf(deps, id, signal) } };
}

/**
 * The volumes with adverse conditions, in every namespace: file systems made per volume that are
 * not AVAILABLE, and the volumes last listed on a shared file system that is not AVAILABLE or does
 * not answer (those the controller has not listed since it started are not known by name).
 */
export async function listVolumeHealth(
  deps: ControllerDeps,
  req: RequestOf<ControllerService, 'ControllerListVolumeHealth'>,
  signal: AbortSignal,
): Promise<ResponseOf<ControllerService, 'ControllerListVolumeHealth'>> {
  const out: { volumeId: string; healthStatuses: HealthEntry[] }[] = [];
  for (const fs of await deps.stores.fileSystems.list('', `${LABEL_VOLUME}=true`, signal)) {
    if (fs.metadata.deletionTimestamp) continue;
    const healthStatuses = fileSystemHealth(fs);
    const namespace = fs.metadata.namespace ?? deps.namespace;
    const volumeId = formatVolumeId({ kind: 'fs', namespace, fileSystem: fs.metadata.name });
    if (healthStatuses.length > 0) out.push({ volumeId, healthStatuses });
  }
  for (const fs of await deps.stores.fileSystems.list('', `${LABEL_SHARED}=true`, signal)) {
    const namespace = fs.metadata.namespace ?? deps.namespace;
    const volumes = volumesLastSeen(deps, namespace, fs.metadata.name);
    if (volumes.length === 0) continue;
    let healthStatuses = fileSystemHealth(fs);
    if (healthStatuses.length === 0) {
      try {
        await within(signal, deps.listTimeoutMs ?? 5_000, async (s) => {
          const target = await sharedFs(deps.stores, namespace, fs.metadata.name, s);
          await (await deps.connections.get(target, s)).statfs(s);
        });
      } catch (err) {
        signal.throwIfAborted();
        healthStatuses = [unreachable(fs, err)];
      }
    }
    if (healthStatuses.length > 0) for (const volumeId of volumes) out.push({ volumeId, healthStatuses });
  }
  const { entries, nextToken } = page(out, (v) => v.volumeId, req.maxEntries, req.startingToken);
  return { entries, nextToken };
}
