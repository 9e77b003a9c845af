// A create the kernel resent to a new FUSE daemon: the first reply again, with an open handle of the new client's own.
import { FsError } from '../../lib/errors.ts';
import type { OpContext } from './inodes.ts';
import { toAttr } from './inodes.ts';
import type { CreateResult, Namespace } from './namespace.ts';
import { pendingPunch } from './punches.ts';
import { noteWriter } from './size-epochs.ts';

const O_ACCMODE = 0o3;
const O_TRUNC = 0o1000;

/** A create's reply as a resend gets it: `resent`, and the first's truncate if still pending. */
export type ResentCreate = CreateResult & { resent?: true; punch?: number };

/**
 * The reply to a create whose (mount, request) key was seen before. The stored reply names the
 * first caller's handle: to that same client (its own retry, after an MDS restart) it is given as
 * it is; to another (the daemon that replaced a dead one) a new handle on the created inode with
 * the same flags, without access checks — the first create granted them, as open(2) with O_CREAT
 * grants the creator any access mode. Either way marked `resent`: an O_TRUNC is not done again (the
 * MDS did; cutting the objects again would cut what another client wrote since), and `punch` names
 * that truncate if its objects are still uncut (the client finishes it as an open does). The dead
 * client's handle stays until its eviction. ESTALE when the inode is gone.
 */
export function resentCreate(
  ns: Namespace,
  op: OpContext,
  stored: ResentCreate,
  flags: number,
): ResentCreate {
  const { resent: _, punch: __, ...first } = stored;
  if (first.handle === null) return first;
  const punch = pendingPunch(ns.store.db, first.attr.ino);
  const resent = { resent: true as const, ...(punch !== undefined && { punch }) };
  if (ns.store.getHandle(first.handle)?.client === op.client) return { ...first, ...resent };
  const row = ns.store.getInode(first.attr.ino);
  if (!row) throw new FsError('ESTALE', `the file this create made (inode ${first.attr.ino}) is gone`);
  const handle = ns.store.insertHandle(row.ino, op.client, flags & ~O_TRUNC);
  if ((flags & O_ACCMODE) !== 0) noteWriter(ns.store.db, row.ino, op.client, false);
  const layout = ns.layoutOf(row) ?? first.layout;
  return { ...first, attr: toAttr(row), layout, handle, ...resent };
}
