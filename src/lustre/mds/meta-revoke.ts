// Metadata cache locks on the MDS: namespace and attribute changes revoke other clients' LOOKUP/UPDATE locks before they commit; lookup and getattr hand out UPDATE locks with their reply.
import type { Args } from '../protocol/args.ts';
import type { Attr, DirEntry } from '../types.ts';
import { IBITS, type LockManager } from './ldlm.ts';
import { ino, name } from './mds-args.ts';
import type { Mdt } from './mdt.ts';
import { withSizeOnOsts } from './size-on-osts.ts';

/** An inode a change touches, and which of IBITS it changes (LOOKUP: names in a directory; UPDATE: attributes). */
export interface Touch {
  ino: number;
  bits: number;
}

const NAMES = IBITS.LOOKUP | IBITS.UPDATE;
const O_TRUNC = 0o1000;

/** The inode now named `n` in directory `p`, if any (the change is about to act on it). */
function child(mdt: Mdt, p: number, n: string): Touch[] {
  const d = mdt.store.lookup(p, n);
  return d ? [{ ino: d.ino, bits: IBITS.UPDATE }] : [];
}

/**
 * What a mutation changes that other clients may cache: a directory whose entries change (create,
 * unlink, rename, link: LOOKUP for its names and negative entries, UPDATE for its mtime and
 * link count), an inode whose attributes change (setattr, xattrs, link count, ctime, an HSM
 * replace, release or restore), and a file opened for writing or truncation (its size and mtime
 * will change on the OSTs: no other client may keep its attributes meanwhile). Empty for other methods and for malformed arguments (the
 * handler refuses those itself).
 */
export function touchedBy(method: string, a: Args, mdt: Mdt): Touch[] {
  try {
    switch (method) {
      case 'create':
        return [{ ino: ino(a, 'parent'), bits: NAMES }, ...child(mdt, ino(a, 'parent'), name(a))];
      case 'mknod':
      case 'mkdir':
      case 'symlink':
        return [{ ino: ino(a, 'parent'), bits: NAMES }];
      case 'unlink':
      case 'rmdir':
        return [{ ino: ino(a, 'parent'), bits: NAMES }, ...child(mdt, ino(a, 'parent'), name(a))];
      case 'rename':
        return [
          { ino: ino(a, 'parent'), bits: NAMES },
          { ino: ino(a, 'newParent'), bits: NAMES },
          ...child(mdt, ino(a, 'parent'), name(a)),
          ...child(mdt, ino(a, 'newParent'), name(a, 'newName')),
        ];
      case 'link':
        return [
          { ino: ino(a, 'newParent'), bits: NAMES },
          { ino: ino(a), bits: IBITS.UPDATE },
        ];
      case 'setattr':
      case 'setxattr':
      case 'removexattr':
      // An import replacing the file, a release and a restore's end change its size, blocks, mtime (and mode, owner).
      case 'hsmReplace':
      case 'hsmRelease':
      case 'hsmRestoreDone':
        return [{ ino: ino(a), bits: IBITS.UPDATE }];
      case 'open': {
        const flags = a['flags'];
        const writes = typeof flags === 'number' && ((flags & 3) !== 0 || (flags & O_TRUNC) !== 0);
        return writes ? [{ ino: ino(a), bits: IBITS.UPDATE }] : [];
      }
      default:
        return [];
    }
  } catch {
    return [];
  }
}

/** Touches merged per inode. */
function merged(touches: Touch[]): Touch[] {
  const byIno = new Map<number, number>();
  for (const t of touches) byIno.set(t.ino, (byIno.get(t.ino) ?? 0) | t.bits);
  return [...byIno].sort((x, y) => x[0] - y[0]).map(([i, bits]) => ({ ino: i, bits }));
}

/**
 * Runs `change`, then takes and at once gives back a PW inode-bits lock as `client` on what it
 * touched: every other client's PR lock on those bits is called back — the holder drops what it
 * cached under the lock and cancels, or is evicted at the callback deadline — before the change's
 * reply goes out, so once a change has returned no client answers from a name or an attribute
 * older than it. A lock granted while the change ran is called back too, and one granted after
 * it reads the changed state. No lock is held while the change runs (an open may wait minutes for
 * an HSM restore). A change that failed changed nothing and revokes nothing. The caller's own
 * locks do not conflict: it updates its own cache. These requests wait for nothing but holders
 * (not the lock recovery window: clients drop their caches before they connect again), and have
 * no signal: once committed, a change's revocation always completes.
 */
export async function withRevocation<T>(
  manager: LockManager,
  client: string,
  touches: Touch[],
  change: () => Promise<T>,
): Promise<T> {
  const result = await change();
  await Promise.all(
    merged(touches).map(async (t) => {
      const l = await manager.enqueue(client, { ino: t.ino, kind: 'ibits', mode: 'PW', bits: t.bits });
      manager.cancel(client, l.id);
    }),
  );
  return result;
}

/**
 * Attributes of `ino` and, when they can be cached, a PR UPDATE lock on it granted to `client`
 * with them (one round trip): the lock is taken before the attributes are read, so a later change
 * revokes it. No lock when it cannot be granted at once (a change is under way) or while another
 * client has the file open for writing (`sizeOnOsts`: its size moves on the OSTs without the MDS).
 * A PR UPDATE lock the client holds already, not called back, is named again rather than doubled.
 */
export async function attrWithUpdateLock(
  mdt: Mdt,
  manager: LockManager,
  client: string,
  i: number,
  read: () => Promise<Attr>,
): Promise<Attr & { updateLock?: number }> {
  // A lock the client already holds (and is not being asked to give back) serves again.
  const mine = manager
    .heldBy(client, i)
    .find((l) => l.kind === 'ibits' && l.mode === 'PR' && l.bits === IBITS.UPDATE);
  if (mine) {
    const attr = withSizeOnOsts(mdt.store.db, await read(), client);
    return attr.sizeOnOsts ? attr : { ...attr, updateLock: mine.id };
  }
  const lock = manager.tryEnqueue(client, { ino: i, kind: 'ibits', mode: 'PR', bits: IBITS.UPDATE });
  try {
    const attr = withSizeOnOsts(mdt.store.db, await read(), client);
    if (!lock || attr.sizeOnOsts) {
      if (lock) manager.cancel(client, lock.id);
      return attr;
    }
    return { ...attr, updateLock: lock.id };
  } catch (err) {
    if (lock) manager.cancel(client, lock.id);
    throw err;
  }
}

/**
 * readdirplus entries with PR UPDATE locks, as `attrWithUpdateLock` gives one: to be called in
 * the same synchronous step that read the entries, so no change can come between the read and
 * the grant (a change under way holds or waits for its PW lock, and then no lock is granted).
 */
export function entriesWithUpdateLocks(
  mdt: Mdt,
  manager: LockManager,
  client: string,
  entries: DirEntry[],
): (DirEntry & { updateLock?: number })[] {
  return entries.map((e) => {
    if (!e.attr || e.name === '.' || e.name === '..') return e;
    if (withSizeOnOsts(mdt.store.db, e.attr, client).sizeOnOsts) return e;
    const mine = manager
      .heldBy(client, e.ino)
      .find((l) => l.kind === 'ibits' && l.mode === 'PR' && l.bits === IBITS.UPDATE);
    const lock =
      mine ?? manager.tryEnqueue(client, { ino: e.ino, kind: 'ibits', mode: 'PR', bits: IBITS.UPDATE });
    return lock ? { ...e, updateLock: lock.id } : e;
  });
}
