// A create the kernel resent to a new FUSE daemon: the first reply again, with an open handle of the new client's own.
import { FsError } from '../../lib/errors.ts';
import type { OpContext } from './inodes.ts';
import { toAttr } from './inodes.ts';
import type { CreateResult, Namespace } from './namespace.ts';
import { noteWriter } from './size-epochs.ts';

const O_ACCMODE = 0o3;
const O_TRUNC = 0o1000;

/**
 * The reply to a create whose (mount, request) key was seen before. The stored reply names the
 * first caller's handle: to that same client (its own retry, after an MDS restart) it is given as
 * it is; to another (the daemon that replaced a dead one) a new handle on the created inode with
 * the same flags, without access checks — the first create granted them, as open(2) with O_CREAT
 * grants the creator any access mode — and without truncating again (the MDS did; the client cuts
 * the objects again when the first reply says so, which changes nothing written since the first
 * create's reply). The dead client's handle stays until its eviction. ESTALE when the inode is gone.
 */
export function resentCreate(ns: Namespace, op: OpContext, first: CreateResult, flags: number): CreateResult {
  if (first.handle === null) return first;
  if (ns.store.getHandle(first.handle)?.client === op.client) return first;
  const row = ns.store.getInode(first.attr.ino);
  if (!row) throw new FsError('ESTALE', `the file this create made (inode ${first.attr.ino}) is gone`);
  const handle = ns.store.insertHandle(row.ino, op.client, flags & ~O_TRUNC);
  if ((flags & O_ACCMODE) !== 0) noteWriter(ns.store.db, row.ino, op.client, false);
  const layout = ns.layoutOf(row) ?? first.layout;
  return { ...first, attr: toAttr(row), layout, handle };
}
