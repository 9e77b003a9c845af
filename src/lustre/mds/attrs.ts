// setattr (chmod, chown, truncate, utimes) and lfs setstripe/getstripe on the MDT, with their permission rules.
import { FsError } from '../../lib/errors.ts';
import {
  type Attr,
  type Credentials,
  type Layout,
  type LayoutPolicy,
  S_IFREG,
  type SetAttrChanges,
  type TimeSpec,
} from '../types.ts';
import { bumpDataVersion } from './data-version.ts';
import { checkFileSize } from './file-size.ts';
import { O_ACCMODE } from './handles.ts';
import { blocksFor, isDir, type NsCore, type OpContext, toAttr, typeOf } from './inodes.ts';
import { checkPolicy, layoutObjects } from './layout.ts';
import { checkAccess, inGroup, isOwnerOrRoot, isRoot, MAY_WRITE, S_ISGID, S_ISUID } from './perm.ts';
import { recordPunch } from './punches.ts';
import { bumpEpoch } from './size-epochs.ts';
import { writtenByAnyone } from './size-on-osts.ts';
import type { InodeRow } from './store.ts';

const O_RDONLY = 0;

/**
 * Applies `changes` as Linux's notify_change does. chmod: owner or root (EPERM); a non-root caller
 * outside the file's group loses S_ISGID. chown: only root changes the uid; the owner may change
 * the gid to a group it belongs to (EPERM otherwise); a chown by non-root clears S_ISUID and
 * S_ISGID (the latter only with group execute) of non-directories. size: EISDIR on directories,
 * EINVAL on other non-regular files, EACCES without write permission (or a handle `fh` of this
 * client open for writing on the inode: ftruncate), EFBIG past the largest size the layout can
 * hold; records the size only. killSetId clears set-ID bits by Linux's rules (alone it needs write
 * permission or `fh`). Explicit times: owner or root (EPERM); "now": also anyone with write
 * permission (EACCES). Every change sets ctime; a size change also sets mtime unless given. A
 * change that fails changes nothing.
 */
export function setattr(ns: NsCore, op: OpContext, ino: number, c: SetAttrChanges): Attr {
  const row = ns.inode(ino);
  const cred = op.cred;
  const now = ns.clock();
  const owner = isOwnerOrRoot(cred, row);
  if (c.uid !== undefined && !isRoot(cred) && (cred.uid !== row.uid || c.uid !== row.uid)) {
    throw new FsError('EPERM', 'only root may change the owner');
  }
  if (
    c.gid !== undefined &&
    !isRoot(cred) &&
    (cred.uid !== row.uid || (!inGroup(cred, c.gid) && c.gid !== row.gid))
  ) {
    throw new FsError('EPERM', 'not allowed to change the group');
  }
  if (c.mode !== undefined && !owner) throw new FsError('EPERM', 'only the owner may change the mode');
  if (c.ctimeMs !== undefined && !isRoot(cred)) throw new FsError('EPERM', 'only root may set ctime');
  const viaWritableFh = c.fh !== undefined && writableHandle(ns, op, ino, c.fh);
  if (c.size !== undefined) checkTruncate(ns, op, row, c.size, viaWritableFh);
  if (c.size !== undefined && c.size > row.size) ns.projects.checkGrowth(op.client, row, c.size);
  checkTimes(op, row, c.atimeMs, c.mtimeMs);
  const before = row.mode;
  if (c.killSetId && !isDir(row)) killSetId(cred, row);
  if (c.killSetId && !hasChange({ ...c, killSetId: false })) {
    // After a write: nothing to do unless a set-ID bit goes, and then only with the right to write.
    if (row.mode === before) return toAttr(row);
    if (!viaWritableFh) checkAccess(cred, { ...row, mode: before }, MAY_WRITE);
  }
  if (!hasChange(c)) return toAttr(row);
  if ((c.uid !== undefined || c.gid !== undefined) && !isRoot(cred) && !isDir(row)) {
    row.mode &= ~S_ISUID;
    if (row.mode & 0o010) row.mode &= ~S_ISGID;
  }
  if (c.uid !== undefined) row.uid = c.uid;
  if (c.gid !== undefined) row.gid = c.gid;
  if (c.mode !== undefined) {
    row.mode = (row.mode & ~0o7777) | (c.mode & 0o7777);
    if (!isRoot(cred) && !inGroup(cred, row.gid)) row.mode &= ~S_ISGID;
  }
  if (c.size !== undefined) {
    if (c.size !== row.size && !isRoot(cred)) {
      row.mode &= ~S_ISUID;
      if (row.mode & 0o010) row.mode &= ~S_ISGID;
    }
    // Unreported writes (another client's, or the caller's own) may reach past the MDS's size:
    // those bytes go too, and until the caller reports them cut, a resend of this truncate, an
    // eviction's glimpse and a later grower must know the cut may not have happened.
    if (c.size < row.size || writtenByAnyone(ns.store.db, ino)) recordPunch(ns.store.db, ino, c.size);
    bumpEpoch(ns.store.db, ino, op.client);
    bumpDataVersion(ns.store.db, ino);
    row.size = c.size;
    row.blocks = blocksFor(c.size);
    row.mtime = now;
  }
  if (c.atimeMs !== undefined) row.atime = timeOf(c.atimeMs, now);
  if (c.mtimeMs !== undefined) row.mtime = timeOf(c.mtimeMs, now);
  row.ctime = c.ctimeMs ?? now;
  ns.store.updateInode(row);
  op.fx.inode(ino, true);
  return toAttr(row);
}

function hasChange(c: SetAttrChanges): boolean {
  return Object.entries(c).some(([k, v]) => k !== 'fh' && v !== undefined && v !== false);
}

/** Linux's rule for a writer without CAP_FSETID (setattr_should_drop_sgid): S_ISUID always goes. */
export function killSetId(cred: Credentials, row: InodeRow): void {
  row.mode &= ~S_ISUID;
  if (row.mode & S_ISGID && (row.mode & 0o010 || !(isRoot(cred) || inGroup(cred, row.gid)))) {
    row.mode &= ~S_ISGID;
  }
}

/** Whether `fh` is a handle of the calling client on `ino`, open for writing (EBADF if it is not its handle). */
function writableHandle(ns: NsCore, op: OpContext, ino: number, fh: number): boolean {
  const h = ns.store.getHandle(fh);
  if (!h || h.client !== op.client || h.ino !== ino)
    throw new FsError('EBADF', `no open handle ${fh} on inode ${ino}`);
  return (h.flags & O_ACCMODE) !== O_RDONLY;
}

function checkTruncate(ns: NsCore, op: OpContext, row: InodeRow, size: number, viaFh: boolean): void {
  if (isDir(row)) throw new FsError('EISDIR');
  if (typeOf(row.mode) !== S_IFREG) throw new FsError('EINVAL', 'only regular files have a size to set');
  if (!viaFh) checkAccess(op.cred, row, MAY_WRITE);
  checkFileSize(ns.layoutOf(row), size);
}

function checkTimes(op: OpContext, row: InodeRow, atime?: TimeSpec, mtime?: TimeSpec): void {
  if (atime === undefined && mtime === undefined) return;
  if (isOwnerOrRoot(op.cred, row)) return;
  if (typeof atime === 'number' || typeof mtime === 'number') {
    throw new FsError('EPERM', 'only the owner may set explicit times');
  }
  checkAccess(op.cred, row, MAY_WRITE);
}

function timeOf(t: TimeSpec, now: number): number {
  return t === 'now' ? now : t;
}

/**
 * lfs setstripe. On a directory: stores `policy` as the default for new files below it (owner or
 * root). On a regular file of size 0: replaces its layout, queueing the old objects for
 * destruction; EBUSY once it has data. EINVAL on other types or for a bad policy.
 */
export function setstripe(ns: NsCore, op: OpContext, ino: number, policy: LayoutPolicy): void {
  checkPolicy(policy);
  const row = ns.inode(ino);
  if (!isOwnerOrRoot(op.cred, row)) throw new FsError('EPERM');
  if (isDir(row)) {
    row.policy = JSON.stringify(policy);
  } else if (typeOf(row.mode) === S_IFREG) {
    if (row.size > 0) throw new FsError('EBUSY', 'the file already has data');
    const layout = ns.layouts.allocate(policy, op.host, ns.osts());
    replaceObjects(ns, op, row, layout);
    row.layout = JSON.stringify(layout);
  } else {
    throw new FsError('EINVAL', 'only directories and regular files have a layout');
  }
  row.ctime = ns.clock();
  ns.store.updateInode(row);
  op.fx.inode(ino, true);
}

/**
 * Queues the old layout's objects that the new one does not reuse, and takes the new layout's
 * objects out of the destroy log (a previous setstripe may have queued the same names).
 */
function replaceObjects(ns: NsCore, op: OpContext, row: InodeRow, layout: Layout): void {
  const key = (o: { ost: number; object: string }) => `${o.ost}/${o.object}`;
  const fresh = layoutObjects(row.ino, layout);
  const keep = new Set(fresh.map(key));
  for (const o of fresh) ns.store.unqueueDestroy(o.ost, o.object);
  const old = ns.layoutOf(row);
  for (const o of old ? layoutObjects(row.ino, old) : []) {
    if (keep.has(key(o))) continue;
    ns.store.queueDestroy(o.ost, o.object);
    op.fx.destroyQueued = true;
  }
}

/** lfs getstripe: a regular file's layout, or a directory's effective default policy. */
export function getstripe(ns: NsCore, ino: number): { layout: Layout | null; policy: LayoutPolicy | null } {
  const row = ns.inode(ino);
  if (isDir(row)) return { layout: null, policy: ns.effectivePolicy(ino) };
  return { layout: ns.layoutOf(row), policy: null };
}
