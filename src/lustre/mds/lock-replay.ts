// Lock replay: a client re-asserts its flock and POSIX locks after an MDS restart, within the recovery window.
import { FsError } from '../../lib/errors.ts';
import { type Args, asArgs, int, str } from '../protocol/args.ts';
import { lock, lockType } from './mds-args.ts';
import type { Mdt } from './mdt.ts';

/** Most locks one replay may carry. */
const MAX_REPLAYED = 100_000;

export interface ReplayedLocks {
  posix: { ino: number; owner: string; lock: ReturnType<typeof lock> }[];
  flocks: { ino: number; handle: number; type: 'read' | 'write' }[];
}

function list(a: Args, key: string): Args[] {
  const v = a[key];
  if (!Array.isArray(v) || v.length > MAX_REPLAYED)
    throw new FsError('EINVAL', `argument "${key}" must be a list of at most ${MAX_REPLAYED} locks`);
  return v.map(asArgs);
}

/** The replay's arguments, checked (EINVAL naming the field, before anything is applied). */
export function replayArgs(a: Args): ReplayedLocks {
  const posix = list(a, 'posix').map((p) => ({
    ino: int(p, 'ino', { min: 1 }),
    owner: str(p, 'owner', 512),
    lock: lock(p),
  }));
  const flocks = list(a, 'flocks').map((f) => {
    const type = lockType(f, 'type');
    if (type === 'unlock') throw new FsError('EINVAL', 'a replayed flock must be "read" or "write"');
    return { ino: int(f, 'ino', { min: 1 }), handle: int(f, 'handle', { min: 1 }), type };
  });
  for (const p of posix) {
    if (p.lock.type === 'unlock')
      throw new FsError('EINVAL', 'a replayed POSIX lock must be "read" or "write"');
  }
  return { posix, flocks };
}

/**
 * Grants `client`'s locks again as it held them. Inside the recovery window nobody else can have
 * taken them (other requests wait for the window to close); after it, a lock that now conflicts,
 * or whose inode or handle is gone, is lost and counted. The client then counts as recovered.
 */
export function replayLocks(mdt: Mdt, client: string, r: ReplayedLocks): { lost: number } {
  let lost = 0;
  for (const p of r.posix) {
    try {
      mdt.ns.inode(p.ino);
      mdt.locks.setlk(p.ino, p.owner, client, p.lock);
    } catch {
      lost++;
    }
  }
  for (const f of r.flocks) {
    const row = mdt.store.getHandle(f.handle);
    try {
      if (!row || row.client !== client || row.ino !== f.ino) throw new FsError('EBADF');
      mdt.locks.flock(f.ino, f.handle, client, f.type);
    } catch {
      lost++;
    }
  }
  mdt.recovery.recovered(client);
  return { lost };
}
