// statfs and lfs df of a mounted client: the MDS's inode counts and every OST's space.
import type { StatTarget } from '../protocol/oss-messages.ts';
import type { StatFs } from '../types.ts';
import type { MdsSession } from './mds-session.ts';
import type { OstPool } from './ost-pool.ts';
import { projectStatfs } from './quota-statfs.ts';

const BLOCK = 4096;

/** One OST's space as lfs df shows it. */
export type OstUsage = { index: number; target: string } & ({ stat: StatTarget } | { error: string });

/**
 * MDS inode counts and the OSTs' space (divided by `replicas`); OSTs that do not answer are left
 * out. With `ino` of a directory passing on a project with limits, the project's limits and usage
 * instead (as Lustre's statfs_project): df inside a sub-directory volume shows its quota.
 */
export async function clientStatfs(
  mds: MdsSession,
  pool: OstPool,
  replicas: number,
  signal?: AbortSignal,
  ino?: number,
): Promise<StatFs> {
  const args = ino === undefined ? {} : { ino };
  const [counts, usage] = await Promise.all([mds.call('statfs', args, signal), ostUsage(pool, signal)]);
  let capacity = 0;
  let free = 0;
  let avail = 0;
  for (const u of usage) {
    if (!('stat' in u)) continue;
    capacity += u.stat.capacityBytes;
    free += Math.max(0, u.stat.capacityBytes - u.stat.usedBytes);
    avail += u.stat.availBytes;
  }
  // PERSISTENT keeps every object on `replicas` OSTs: what a user can store is that much less.
  const copies = Math.max(1, replicas);
  capacity /= copies;
  free /= copies;
  avail /= copies;
  const blocks = (n: number) => Math.floor(n / BLOCK);
  if (counts.project) return projectStatfs(counts.project, { capacity, free, avail }, counts);
  return {
    bsize: BLOCK,
    frsize: BLOCK,
    blocks: blocks(capacity),
    bfree: blocks(free),
    bavail: blocks(Math.min(avail, free)),
    files: counts.files,
    ffree: counts.ffree,
    namelen: 255,
  };
}

/** Space of every OST for lfs df, in index order; an OST that does not answer has `error` instead. */
export async function ostUsage(pool: OstPool, signal?: AbortSignal): Promise<OstUsage[]> {
  await pool.refresh();
  const indexes = pool.indexes();
  const results = await Promise.allSettled(indexes.map((i) => pool.statfs(i, signal)));
  return indexes.map((index, k) => {
    const r = results[k]!;
    const target = pool.name(index);
    return r.status === 'fulfilled'
      ? { index, target, stat: r.value }
      : { index, target, error: r.reason instanceof Error ? r.reason.message : String(r.reason) };
  });
}
