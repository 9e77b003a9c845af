// statfs of a directory under a project quota: the quota as the size, the project's usage as used.
import type { QuotaInfo, StatFs } from '../types.ts';

const BLOCK = 4096;

/**
 * The StatFs df shows inside a directory passing on a project with limits: blocks = the block
 * limit (or the file system's capacity without one), free = what is left of it, never more than
 * the OSTs have free; files = the inode limit (or the file system's), ffree likewise.
 */
export function projectStatfs(
  q: QuotaInfo,
  space: { capacity: number; free: number; avail: number },
  counts: { files: number; ffree: number },
): StatFs {
  const size = q.blockHardLimitBytes > 0 ? q.blockHardLimitBytes : space.capacity;
  const left = Math.max(0, size - q.blockUsageBytes);
  const files = q.inodeHardLimit > 0 ? q.inodeHardLimit : counts.files;
  const ffree = q.inodeHardLimit > 0 ? Math.max(0, q.inodeHardLimit - q.inodeUsage) : counts.ffree;
  return {
    bsize: BLOCK,
    frsize: BLOCK,
    blocks: Math.ceil(size / BLOCK),
    bfree: Math.floor(Math.min(left, space.free) / BLOCK),
    bavail: Math.floor(Math.min(left, space.avail, space.free) / BLOCK),
    files,
    ffree: Math.min(ffree, counts.ffree),
    namelen: 255,
  };
}
