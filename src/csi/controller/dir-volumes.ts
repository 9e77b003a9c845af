// Sub-directory volumes: a directory per PV on a shared emulated FileSystem, with stripe settings, a project quota and onDelete.
import { FsError } from '../../lib/errors.ts';
import type { LustreClient } from '../../lustre/client/lustre-client.ts';
import type { DirEntry } from '../../lustre/types.ts';
import { ROOT_CREDENTIALS, ROOT_INO } from '../../lustre/types.ts';
import { CsiError } from '../csi-error.ts';
import type { Volume } from '../proto.ts';
import { formatVolumeId, VOLUME_CONTEXT } from '../volume-id.ts';
import type { OnDelete } from './parameters.ts';

/** Where volumes live inside the shared file system; retained and archived ones move out of it. */
export const VOLUMES_DIR = 'csi-volumes';
export const RETAINED_DIR = 'csi-retained';
export const ARCHIVED_DIR = 'csi-archived';
const CREATING = '.creating-';
const DELETING = '.deleting-';
/** The extended attribute that records a volume's onDelete. */
export const ON_DELETE_XATTR = 'trusted.csi.nacre.dev.onDelete';
/** The extended attribute that records what the volume was created with (capacity, stripes, onDelete). */
export const REQUEST_XATTR = 'trusted.csi.nacre.dev.request';

/** The slice of the striped client (LustreClient) sub-directory volumes use. */
export type DirFileSystem = Pick<
  LustreClient,
  | 'lookup'
  | 'mkdir'
  | 'rmdir'
  | 'unlink'
  | 'rename'
  | 'readdir'
  | 'setxattr'
  | 'getxattr'
  | 'setstripe'
  | 'statfs'
  | 'setProject'
  | 'setQuota'
  | 'getQuota'
>;

/** The shared file system a volume lives on, as the FileSystem resource describes it. */
export interface SharedFs {
  namespace: string;
  name: string;
  fileSystemId: string;
  dnsName: string;
  mountName: string;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

async function lookupOrUndefined(fs: DirFileSystem, parent: number, name: string, signal: AbortSignal) {
  try {
    return await fs.lookup(ROOT_CREDENTIALS, parent, name, signal);
  } catch (err) {
    if (err instanceof FsError && err.code === 'ENOENT') return undefined;
    throw err;
  }
}

async function ensureDir(fs: DirFileSystem, parent: number, name: string, mode: number, signal: AbortSignal) {
  const found = await lookupOrUndefined(fs, parent, name, signal);
  if (found) return found;
  try {
    return await fs.mkdir(ROOT_CREDENTIALS, parent, name, mode, signal);
  } catch (err) {
    if (err instanceof FsError && err.code === 'EEXIST')
      return fs.lookup(ROOT_CREDENTIALS, parent, name, signal);
    throw err;
  }
}

/** Every entry of a directory except . and .. */
export async function listDir(fs: DirFileSystem, ino: number, signal: AbortSignal): Promise<DirEntry[]> {
  const out: DirEntry[] = [];
  let cookie = 0;
  for (;;) {
    const page = await fs.readdir(ROOT_CREDENTIALS, ino, cookie, 512, false, signal);
    if (page.length === 0) return out;
    for (const e of page) if (e.name !== '.' && e.name !== '..') out.push(e);
    cookie = page[page.length - 1]!.cookie;
  }
}

/** Removes `name` in `parent` and everything below it (`found`: its attributes, already looked up); gone already is success. */
async function removeTree(
  fs: DirFileSystem,
  parent: number,
  name: string,
  signal: AbortSignal,
  found?: { ino: number; mode: number },
): Promise<void> {
  const attr = found ?? (await lookupOrUndefined(fs, parent, name, signal));
  if (!attr) return;
  if ((attr.mode & S_IFMT) !== S_IFDIR) {
    await fs.unlink(ROOT_CREDENTIALS, parent, name, signal).catch(ignoreEnoent);
    return;
  }
  for (const e of await listDir(fs, attr.ino, signal)) {
    if ((e.type & S_IFMT) === S_IFDIR) await removeTree(fs, attr.ino, e.name, signal);
    else await fs.unlink(ROOT_CREDENTIALS, attr.ino, e.name, signal).catch(ignoreEnoent);
  }
  await fs.rmdir(ROOT_CREDENTIALS, parent, name, signal).catch(ignoreEnoent);
}

/**
 * Removes a volume directory that is no longer a volume (`.creating-` or `.deleting-`): its
 * project's quota first (the project ID is the inode number, which a later directory may get), then
 * the tree. A repeat after a crash anywhere in between clears the quota again and finishes.
 */
async function removeVolumeTree(fs: DirFileSystem, parent: number, name: string, signal: AbortSignal) {
  const d = await lookupOrUndefined(fs, parent, name, signal);
  if (!d) return;
  if ((d.mode & S_IFMT) === S_IFDIR) {
    await fs.setQuota(d.ino, { blockHardLimitBytes: 0, inodeHardLimit: 0 }, signal);
  }
  await removeTree(fs, parent, name, signal, d);
}

/** What a volume was created with, as REQUEST_XATTR holds it: fixed key order, absent stripe settings as null. */
function requestText(req: CreateDir): string {
  return JSON.stringify({
    quotaBytes: req.quotaBytes,
    stripeCount: req.stripeCount ?? null,
    stripeSize: req.stripeSize ?? null,
    onDelete: req.onDelete,
  });
}

async function recordedRequest(
  fs: DirFileSystem,
  ino: number,
  signal: AbortSignal,
): Promise<string | undefined> {
  try {
    return (await fs.getxattr(ROOT_CREDENTIALS, ino, REQUEST_XATTR, signal)).toString();
  } catch (err) {
    if (err instanceof FsError && err.code === 'ENODATA') return undefined;
    throw err;
  }
}

function ignoreEnoent(err: unknown): void {
  if (!(err instanceof FsError && err.code === 'ENOENT')) throw err;
}

export function dirVolume(shared: SharedFs, dir: string, capacityBytes: number): Volume {
  return {
    volumeId: formatVolumeId({ kind: 'dir', namespace: shared.namespace, fileSystem: shared.name, dir }),
    capacityBytes: String(capacityBytes),
    volumeContext: {
      [VOLUME_CONTEXT.backend]: 'emulated',
      [VOLUME_CONTEXT.dnsName]: shared.dnsName,
      [VOLUME_CONTEXT.mountName]: shared.mountName,
      [VOLUME_CONTEXT.subPath]: `${VOLUMES_DIR}/${dir}`,
      [VOLUME_CONTEXT.fileSystemId]: shared.fileSystemId,
      [VOLUME_CONTEXT.fileSystemNamespace]: shared.namespace,
      [VOLUME_CONTEXT.fileSystemName]: shared.name,
    },
  };
}

export interface CreateDir {
  dir: string;
  csiName: string;
  quotaBytes: number;
  stripeCount?: number;
  stripeSize?: number;
  onDelete: OnDelete;
}

/** The block quota of a volume directory (its project ID is its inode number). */
export async function dirQuota(fs: DirFileSystem, ino: number, signal: AbortSignal): Promise<number> {
  return (await fs.getQuota(ino, signal)).blockHardLimitBytes;
}

/**
 * Creates volume directory `csi-volumes/<dir>`: made as `.creating-<dir>`, given its stripe policy,
 * onDelete, project ID (its inode number, inherited below) and block quota, then renamed into
 * place, so a volume directory is always complete. A repeat after a crash finishes the staged
 * directory; a repeat for an existing volume with another capacity, stripe setting or onDelete is
 * AlreadyExists (a volume made before requests were recorded is compared by capacity only).
 */
export async function createDirVolume(
  fs: DirFileSystem,
  shared: SharedFs,
  req: CreateDir,
  signal: AbortSignal,
): Promise<Volume> {
  const base = await ensureDir(fs, ROOT_INO, VOLUMES_DIR, 0o755, signal);
  const existing = await lookupOrUndefined(fs, base.ino, req.dir, signal);
  if (existing) {
    const quota = await dirQuota(fs, existing.ino, signal);
    if (quota !== req.quotaBytes) {
      throw new CsiError(
        'AlreadyExists',
        `volume "${req.csiName}" exists with a capacity of ${quota} bytes, not ${req.quotaBytes}`,
      );
    }
    const recorded = await recordedRequest(fs, existing.ino, signal);
    if (recorded !== undefined && recorded !== requestText(req)) {
      throw new CsiError(
        'AlreadyExists',
        `volume "${req.csiName}" exists with other parameters (${recorded}), not ${requestText(req)}`,
      );
    }
    return dirVolume(shared, req.dir, req.quotaBytes);
  }
  const staged = `${CREATING}${req.dir}`;
  try {
    const d = await ensureDir(fs, base.ino, staged, 0o777, signal);
    if (req.stripeCount !== undefined || req.stripeSize !== undefined) {
      await fs.setstripe(
        ROOT_CREDENTIALS,
        d.ino,
        { stripeCount: req.stripeCount ?? 1, stripeSize: req.stripeSize ?? 1 << 20, stripeOffset: -1 },
        signal,
      );
    }
    await fs.setxattr(ROOT_CREDENTIALS, d.ino, ON_DELETE_XATTR, Buffer.from(req.onDelete), 0, signal);
    await fs.setxattr(ROOT_CREDENTIALS, d.ino, REQUEST_XATTR, Buffer.from(requestText(req)), 0, signal);
    await fs.setProject(ROOT_CREDENTIALS, d.ino, d.ino, true, signal);
    await fs.setQuota(d.ino, { blockHardLimitBytes: req.quotaBytes, inodeHardLimit: 0 }, signal);
    await fs.rename(ROOT_CREDENTIALS, base.ino, staged, base.ino, req.dir, 0, signal);
  } catch (err) {
    // Nothing half-made stays behind: a crash before this point leaves only the hidden staged directory,
    // which the retry or DeleteVolume finishes or removes.
    await removeVolumeTree(fs, base.ino, staged, AbortSignal.timeout(10_000)).catch(() => undefined);
    throw err;
  }
  return dirVolume(shared, req.dir, req.quotaBytes);
}

async function onDeleteOf(fs: DirFileSystem, ino: number, signal: AbortSignal): Promise<OnDelete> {
  try {
    const v = (await fs.getxattr(ROOT_CREDENTIALS, ino, ON_DELETE_XATTR, signal)).toString();
    return v === 'retain' || v === 'archive' ? v : 'delete';
  } catch (err) {
    if (err instanceof FsError && (err.code === 'ENODATA' || err.code === 'ENOENT')) return 'delete';
    throw err;
  }
}

/**
 * Deletes volume `dir` as its onDelete says: delete removes the tree (after renaming it to a hidden
 * `.deleting-<dir>`, so a repeat finishes the job), retain moves it to csi-retained/<dir>,
 * archive to csi-archived/<dir>-<time>. Gone already is success.
 */
export async function deleteDirVolume(fs: DirFileSystem, dir: string, signal: AbortSignal): Promise<void> {
  const base = await lookupOrUndefined(fs, ROOT_INO, VOLUMES_DIR, signal);
  if (!base) return;
  await removeVolumeTree(fs, base.ino, `${CREATING}${dir}`, signal);
  const d = await lookupOrUndefined(fs, base.ino, dir, signal);
  if (d) {
    const how = await onDeleteOf(fs, d.ino, signal);
    if (how === 'retain' || how === 'archive') {
      const target = await ensureDir(
        fs,
        ROOT_INO,
        how === 'retain' ? RETAINED_DIR : ARCHIVED_DIR,
        0o755,
        signal,
      );
      const name = how === 'retain' ? dir : `${dir}-${new Date().toISOString().replace(/[-:.]/g, '')}`;
      await fs.rename(ROOT_CREDENTIALS, base.ino, dir, target.ino, name, 0, signal);
      return;
    }
    await fs.rename(ROOT_CREDENTIALS, base.ino, dir, base.ino, `${DELETING}${dir}`, 0, signal);
  }
  // Clears the quota too: also after a crash between the rename and the clearing.
  await removeVolumeTree(fs, base.ino, `${DELETING}${dir}`, signal);
}

/** Raises a volume's quota to `bytes` (never lowers it); returns the capacity it now has. */
export async function expandDirVolume(
  fs: DirFileSystem,
  dir: string,
  bytes: number,
  signal: AbortSignal,
): Promise<number> {
  const base = await lookupOrUndefined(fs, ROOT_INO, VOLUMES_DIR, signal);
  const d = base && (await lookupOrUndefined(fs, base.ino, dir, signal));
  if (!d) throw new CsiError('NotFound', `volume directory ${VOLUMES_DIR}/${dir} does not exist`);
  const current = await dirQuota(fs, d.ino, signal);
  if (bytes <= current) return current;
  await fs.setQuota(d.ino, { blockHardLimitBytes: bytes, inodeHardLimit: 0 }, signal);
  return bytes;
}

/** The volumes on a shared file system: the complete directories in csi-volumes/ with their quotas. */
export async function listDirVolumes(
  fs: DirFileSystem,
  shared: SharedFs,
  signal: AbortSignal,
): Promise<Volume[]> {
  const base = await lookupOrUndefined(fs, ROOT_INO, VOLUMES_DIR, signal);
  if (!base) return [];
  const out: Volume[] = [];
  for (const e of await listDir(fs, base.ino, signal)) {
    if (e.name.startsWith('.')) continue;
    out.push(dirVolume(shared, e.name, await dirQuota(fs, e.ino, signal)));
  }
  return out;
}

/** Whether volume `dir` exists, and its capacity. */
export async function findDirVolume(
  fs: DirFileSystem,
  shared: SharedFs,
  dir: string,
  signal: AbortSignal,
): Promise<Volume | undefined> {
  const base = await lookupOrUndefined(fs, ROOT_INO, VOLUMES_DIR, signal);
  const d = base && (await lookupOrUndefined(fs, base.ino, dir, signal));
  return d ? dirVolume(shared, dir, await dirQuota(fs, d.ino, signal)) : undefined;
}
