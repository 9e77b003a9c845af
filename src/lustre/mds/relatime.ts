// Access time on open for reading, as Linux's relatime: only when atime is not after the last change, or a day old (a release's DurationSinceLastAccess reads it).
import { S_IFMT, S_IFREG } from '../types.ts';
import type { Attached } from './handler-types.ts';
import { coordinatorOf } from './hsm-coordinator.ts';

const O_ACCMODE = 0o3;
const O_WRONLY = 0o1;
const O_NOATIME = 0o1000000;
const DAY_MS = 86_400_000;

/**
 * Inside an open's transaction: a regular file opened for reading by a user (not an HSM agent,
 * not O_NOATIME) gets atime = now when its atime is not after its mtime or ctime, or is a day old.
 * Reads go to the OSTs without the MDS, so the open is where the MDS learns of an access.
 */
export function relatimeOnOpen(c: Attached, ino: number, flags: number): void {
  if ((flags & O_ACCMODE) === O_WRONLY || flags & O_NOATIME) return;
  const row = c.mdt.ns.inode(ino);
  if ((row.mode & S_IFMT) !== S_IFREG || coordinatorOf(c.mdt).isAgent(c.client)) return;
  const now = c.mdt.ns.clock();
  if (row.atime > row.mtime && row.atime > row.ctime && now - row.atime < DAY_MS) return;
  row.atime = now;
  c.mdt.store.updateInode(row);
}
