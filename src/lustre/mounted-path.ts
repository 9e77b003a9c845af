// Which Nacre mount a local path is in: the mount's source (MGS and fsname) and the path inside the file system.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { FsError } from '../lib/errors.ts';
import { type MountSource, parseMountSource } from './mount-source.ts';

export interface MountedPath extends MountSource {
  mountPoint: string;
  /** Path inside the file system, starting with "/". */
  path: string;
}

/** Undoes mountinfo's octal escapes (\040 for a space). */
function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

/**
 * Finds the innermost fuse.nacre mount containing `localPath` (resolved against the cwd, not
 * following symlinks, never touching the mount itself). ENOENT-like error if it is in none.
 */
export function findMountedPath(mountinfo: string, localPath: string): MountedPath {
  const target = resolve(localPath);
  let best: MountedPath | undefined;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = unescapeMountinfo(left.split(' ')[4] ?? '');
    const [fstype, source] = right.split(' ');
    if (fstype !== 'fuse.nacre' || !source) continue;
    const inside = target === mountPoint || target.startsWith(`${mountPoint.replace(/\/$/, '')}/`);
    if (!inside || (best && best.mountPoint.length >= mountPoint.length)) continue;
    try {
      const src = parseMountSource(unescapeMountinfo(source));
      best = { ...src, mountPoint, path: target.slice(mountPoint.replace(/\/$/, '').length) || '/' };
    } catch {
      // A fuse.nacre mount whose source is not an MGS address (a test mount): not ours to resolve.
    }
  }
  if (!best)
    throw new FsError('EINVAL', `${target} is not on a Nacre file system (no fuse.nacre mount contains it)`);
  return best;
}

export async function mountedPath(localPath: string): Promise<MountedPath> {
  return findMountedPath(await readFile('/proc/self/mountinfo', 'utf8'), localPath);
}
