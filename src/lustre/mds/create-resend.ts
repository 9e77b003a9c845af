// A change the kernel resent to a new FUSE daemon: the first reply again, marked `resent`, with the inode as it is now (a create's or an O_TRUNC open's with an open handle of the new client's own).
import { FsError } from '../../lib/errors.ts';
import { type Attr, type Layout, S_IFREG } from '../types.ts';
import type { OpContext } from './inodes.ts';
import { toAttr, typeOf } from './inodes.ts';
import type { CreateResult, Namespace } from './namespace.ts';
import { pendingPunch } from './punches.ts';
import { noteWriter } from './size-epochs.ts';

const O_ACCMODE = 0o3;
const O_TRUNC = 0o1000;

/** A create's reply as a resend gets it: `resent`, and the first's truncate if still pending. */
export type ResentCreate = CreateResult & { resent?: true; punch?: number };

/** What an open (or a create that opened) answers: the handle, the inode and its layout. */
interface Opened {
  handle: number | null;
  attr: Attr;
  layout: Layout | null;
}

/**
 * The reply to a create whose (mount, request) key was seen before. The stored reply names the
 * first caller's handle: to that same client (its own retry, after an MDS restart) it is given as
 * it is; to another (the daemon that replaced a dead one) a new handle on the created inode with
 * the same flags, without access checks — the first create granted them, as open(2) with O_CREAT
 * grants the creator any access mode. Either way marked `resent`, with the inode's attributes now
 * and `punch`, the pending truncate if any: an O_TRUNC is not done again (the MDS did; the client
 * cuts the objects only past the size the MDS has now, which another client may have written up
 * to since). The dead client's handle stays until its eviction. ESTALE when the inode is gone.
 */
export function resentCreate(
  ns: Namespace,
  op: OpContext,
  stored: ResentCreate,
  flags: number,
): ResentCreate {
  return resentOpen(ns, op, stored, flags);
}

/**
 * The reply to an open (with O_TRUNC: the only opens keyed) whose key was seen before: as a
 * resent create's, a handle of the caller's own with the first open's access mode and no second
 * truncate; `punch` if the first's is still pending. ESTALE when the inode is gone.
 */
export function resentOpen<T extends Opened & { punch?: number; resent?: true }>(
  ns: Namespace,
  op: OpContext,
  stored: T,
  flags: number,
): T {
  const { resent: _, punch: __, ...first } = stored;
  if (first.handle === null) return first as T;
  const row = ns.store.getInode(first.attr.ino);
  if (!row) throw new FsError('ESTALE', `the file this call opened (inode ${first.attr.ino}) is gone`);
  const punch = pendingPunch(ns.store.db, row.ino);
  const now = { attr: toAttr(row), layout: ns.layoutOf(row) ?? first.layout, resent: true as const };
  const resent = { ...now, ...(punch !== undefined && { punch }) };
  if (ns.store.getHandle(first.handle)?.client === op.client) return { ...first, ...resent } as T;
  const handle = ns.store.insertHandle(row.ino, op.client, flags & ~O_TRUNC);
  if ((flags & O_ACCMODE) !== 0 && typeOf(row.mode) === S_IFREG)
    noteWriter(ns.store.db, row.ino, op.client, false);
  return { ...first, ...resent, handle } as T;
}

/**
 * The reply to a setattr whose key was seen before: marked `resent`, with the inode's attributes
 * now (a size change is done: the MDS finished its pending punch before this runs; the client cuts
 * the objects only past the size the MDS has now). The first reply if the inode is gone.
 */
export function resentSetattr(ns: Namespace, ino: number, first: Attr): Attr & { resent: true } {
  const row = ns.store.getInode(ino);
  return { ...(row ? toAttr(row) : first), resent: true };
}
