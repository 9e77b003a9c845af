// The MDS's RPC surface: method names and argument/result shapes shared by the MDS server and the client.
//
// Every method is called as RpcClient.call(method, args). Mutating methods carry `xid`, unique per
// clientId and operation: the MDS stores each mutation's reply (result or errno) in the same
// transaction (reply reconstruction, as Lustre's last_rcvd), so a call retried after a reconnect
// or an MDS restart returns the original reply instead of running twice. The cache is keyed by
// (clientId, xid) and keeps the last 1024 replies per client: keep counting xids across
// reconnects, and give every new client instance (each mount) a fresh clientId.

import type {
  Attr,
  Credentials,
  DirEntry,
  FileLock,
  Layout,
  LayoutPolicy,
  QuotaGrant,
  QuotaInfo,
  QuotaLimits,
  SetAttrChanges,
} from '../types.ts';
import type { ChangelogMethods } from './changelog-messages.ts';
import type { HsmExportMethods } from './hsm-export-messages.ts';
import type { HsmMethods } from './hsm-messages.ts';
import type { RequestKey } from './request-key.ts';

export interface MdsMethods extends HsmMethods, HsmExportMethods, ChangelogMethods {
  /**
   * First call on a connection (any other call before it fails with ENOTCONN). Re-attaching with
   * the same clientId within `graceMs` keeps its open handles; its locks are kept only within a
   * shorter lock grace (5 s by default) and never survive an MDS restart. A client gone longer
   * than `graceMs` is evicted: its handles are released and its reply cache dropped.
   */
  connect: {
    /** `fsname` picks the MDT when the MDS process serves several (required then; EAGAIN while it is not served yet). */
    args: { clientId: string; host: string; fsname?: string };
    /** `graceMs`: eviction delay of a client without a session; `lockGraceMs`: after which its locks go (keep-alives come well within it). */
    result: { rootIno: number; fsname: string; graceMs: number; lockGraceMs?: number };
  };
  /** With `lockUpdate`, a PR UPDATE lock on the inode may come with the attributes (`updateLock`, mds/meta-revoke.ts). */
  lookup: {
    args: { cred: Credentials; parent: number; name: string; lockUpdate?: boolean };
    result: Attr & { updateLock?: number };
  };
  /** `sizeOnOsts` in the result: another client has the file open for writing (mds/size-on-osts.ts). */
  getattr: { args: { ino: number; lockUpdate?: boolean }; result: Attr & { updateLock?: number } };
  /** The layout with its current `stale` set (also in the results of `open` and `create`). */
  getLayout: { args: { ino: number }; result: Layout | null };
  /**
   * A client wrote only one copy of a mirrored stripe because `ost`'s copy was unreachable or is
   * already stale: records that copy as stale, durably, before answering (the client acknowledges
   * its write only then). Idempotent; every call marks a new write the resync must not miss.
   * EINVAL if `ost` holds no mirrored copy of `stripe`; EIO if the other copy is the stale one.
   */
  markStale: { args: { ino: number; stripe: number; ost: number }; result: null };
  /**
   * Size changes record the new size only; the client truncates the OST objects. `key` on this and
   * every namespace change below: a keeper-held mount's id and the kernel's request id; a key seen
   * before gets the first reply again, as reserveAppend's (the kernel resends a dead daemon's
   * request to the next one, a new client). `resent` marks such a repeated reply: its size change
   * is done on the OSTs (the MDS finished a pending punch first), so the client cuts nothing again
   * (another client may have written since).
   */
  setattr: {
    args: { xid: number; cred: Credentials; ino: number; changes: SetAttrChanges; key?: RequestKey };
    result: Attr & { resent?: true };
  };
  /**
   * Creates (and, with `open`, opens) a regular file, allocating its layout. EEXIST if `exclusive`
   * and present. A key seen before from another client (a resend) gets the first reply with a
   * handle of its own in place of the first client's, `resent` (an O_TRUNC already done: the
   * client cuts nothing again) and `punch`, a truncate still pending that the client finishes.
   */
  create: {
    args: {
      xid: number;
      key?: RequestKey;
      cred: Credentials;
      parent: number;
      name: string;
      mode: number;
      exclusive: boolean;
      open: boolean;
      flags: number;
    };
    /** `grant`: when no block quota applies to the file, says so (saves the first quotaGrant). */
    result: {
      attr: Attr;
      layout: Layout;
      handle: number | null;
      created: boolean;
      grant?: QuotaGrant;
      resent?: true;
      punch?: number;
    };
  };
  mknod: {
    args: {
      xid: number;
      key?: RequestKey;
      cred: Credentials;
      parent: number;
      name: string;
      mode: number;
      rdev: number;
    };
    result: Attr;
  };
  mkdir: {
    args: { xid: number; key?: RequestKey; cred: Credentials; parent: number; name: string; mode: number };
    result: Attr;
  };
  unlink: {
    args: { xid: number; key?: RequestKey; cred: Credentials; parent: number; name: string };
    result: null;
  };
  rmdir: {
    args: { xid: number; key?: RequestKey; cred: Credentials; parent: number; name: string };
    result: null;
  };
  rename: {
    args: {
      xid: number;
      key?: RequestKey;
      cred: Credentials;
      parent: number;
      name: string;
      newParent: number;
      newName: string;
      flags: number;
    };
    result: null;
  };
  link: {
    args: {
      xid: number;
      key?: RequestKey;
      cred: Credentials;
      ino: number;
      newParent: number;
      newName: string;
    };
    result: Attr;
  };
  symlink: {
    args: { xid: number; key?: RequestKey; cred: Credentials; parent: number; name: string; target: string };
    result: Attr;
  };
  readlink: { args: { ino: number }; result: string };
  /** Opens; with O_TRUNC sets size 0 (the client truncates objects). The handle keeps an unlinked inode alive. */
  open: {
    args: { xid: number; key?: RequestKey; cred: Credentials; ino: number; flags: number };
    /**
     * `punch` (a resent O_TRUNC open only; the MDS finishes any other open's first): a truncate to that size was never confirmed punched (its client died): cut the objects first.
     * `loading`: the file is still being restored from the archive; each read first waits (hsmWaitRange).
     * `resent`: the `key` was seen before (an O_TRUNC open the kernel resent): not truncated again.
     */
    result: {
      handle: number;
      attr: Attr;
      layout: Layout | null;
      grant?: QuotaGrant;
      punch?: number;
      loading?: true;
      resent?: true;
    };
  };
  /**
   * Last close of a handle. Drops its flock locks; destroys the inode and its objects if unlinked and
   * unused. With `end`, first what extendSize does (the client's unreported writes), in the same
   * transaction: one round trip for a written file's close.
   */
  release: { args: { xid: number; handle: number; end?: number }; result: null };
  /**
   * An O_APPEND write of `length` bytes: reserves [size, size + length) for it atomically, so
   * appenders on different clients never overlap (size += length, mtime = ctime = now). Returns
   * the new attributes; the client writes its data at `size - length`. EFBIG past the largest file.
   * With `key` (a keeper-held mount's id and the kernel's request id), a request with a key seen
   * before gets the first reply again: the kernel resends a dead daemon's write to the next one.
   */
  reserveAppend: { args: { xid: number; ino: number; length: number; key?: RequestKey }; result: Attr };
  /** The client cut `ino`'s objects to `size` after a truncate (or a pending punch it got with open). */
  punched: { args: { ino: number; size: number }; result: null };
  /** After writes: size = max(size, end), mtime = ctime = now. Returns the new attributes (with `sizeOnOsts`, as getattr). */
  extendSize: { args: { ino: number; end: number }; result: Attr };
  /** Entries after `cookie` (0 = start; includes "." and ".."), at most `limit`; with `plus`, attributes too. */
  readdir: {
    /** With `lockUpdate` (and `plus`), entries may carry a PR UPDATE lock on their inode (`updateLock`). */
    args: {
      cred: Credentials;
      ino: number;
      cookie: number;
      limit: number;
      plus: boolean;
      lockUpdate?: boolean;
    };
    result: (DirEntry & { updateLock?: number })[];
  };
  /**
   * Inode counts; the client adds block counts from the OSTs. With `ino` naming a directory that
   * passes on a project with limits, `project` carries that project's limits and usage (df inside
   * a sub-directory volume shows its quota).
   */
  statfs: {
    args: { ino?: number };
    result: { files: number; ffree: number; project?: QuotaInfo & { projectId: number } };
  };
  /** lfs project: an inode's project ID and whether a directory passes it on to new children. */
  getProject: { args: { ino: number }; result: { projectId: number; inherit: boolean } };
  /**
   * lfs project -p ID [-s] on one inode (the caller walks trees for -r). Changing the ID takes
   * root (EPERM); `inherit` only on directories (EINVAL). Usage moves with the inode.
   */
  setProject: {
    args: { xid: number; cred: Credentials; ino: number; projectId: number; inherit: boolean };
    result: null;
  };
  /** lfs setquota -p: hard limits of a project, 0 = no limit. Lowering below usage is allowed. */
  setQuota: { args: { xid: number; projectId: number } & QuotaLimits; result: null };
  /** lfs quota -p: limits and usage (bytes of the project's regular files, inodes carrying the ID). */
  getQuota: { args: { projectId: number }; result: QuotaInfo };
  /**
   * Before a write that grows regular file `ino` past what this client was granted: reserve room
   * in its project's block quota up to `end` (or more). EDQUOT when the project cannot hold it.
   * `end: null` when no limit applies. A grant is the client's for `ttlMs`.
   */
  quotaGrant: { args: { ino: number; end: number }; result: QuotaGrant };
  getxattr: { args: { cred: Credentials; ino: number; name: string }; result: string /* base64 */ };
  /** `key` on setxattr and removexattr: as on setattr. */
  setxattr: {
    args: {
      xid: number;
      key?: RequestKey;
      cred: Credentials;
      ino: number;
      name: string;
      value: string /* base64 */;
      flags: number;
    };
    result: null;
  };
  listxattr: { args: { cred: Credentials; ino: number }; result: string[] };
  removexattr: {
    args: { xid: number; key?: RequestKey; cred: Credentials; ino: number; name: string };
    result: null;
  };
  /** POSIX byte-range locks; `owner` is opaque (the client sends "<clientId>:<lock owner>"). Non-blocking: EAGAIN on conflict. */
  getlk: { args: { ino: number; owner: string; lock: FileLock }; result: FileLock };
  setlk: { args: { ino: number; owner: string; lock: FileLock }; result: null };
  /** flock(2) whole-file locks, owned by the open handle. */
  flock: { args: { ino: number; handle: number; type: FileLock['type'] }; result: null };
  /** Drops every POSIX lock `owner` holds on `ino` (close(2) semantics). */
  unlockOwner: { args: { ino: number; owner: string }; result: null };
  /**
   * Point-in-time snapshots (mds/snapshots.ts): `snapshotCreate` takes the whole file system at one
   * instant (metadata and every OST's objects; EIO when an OST cannot be frozen); `snapshotList`
   * pages through its tree (parents first); objects are read from the OSTs with the snapshot's id;
   * `snapshotDrop` forgets it everywhere.
   */
  snapshotCreate: { args: { id: string }; result: { createdAtMs: number } };
  snapshotList: {
    args: { id: string; cursor: number; limit: number };
    result: {
      entries: {
        path: string;
        attr: Attr;
        layout?: Layout;
        target?: string;
        xattrs?: Record<string, string>;
      }[];
      next?: number;
    };
  };
  snapshotDrop: { args: { id: string }; result: null };
  /**
   * Lock replay, sent by a client after every connect: the flock and POSIX locks it holds, granted
   * again as they were (an MDS that restarted holds none until its clients re-assert them, within a
   * recovery window in which other lock requests wait). `lost`: locks that could not be granted.
   */
  lockReplay: {
    args: {
      posix: { ino: number; owner: string; lock: FileLock }[];
      flocks: { ino: number; handle: number; type: 'read' | 'write' }[];
    };
    result: { lost: number };
  };
  /**
   * A cache lock (mds/ldlm.ts): resolves once granted, after conflicting holders of other clients
   * cancelled (they get a `blockingAst` push with the lock) or were evicted for not answering.
   */
  lockEnqueue: {
    args: { ino: number; kind: 'ibits' | 'data'; mode: 'PR' | 'PW'; bits?: number };
    result: { id: number };
  };
  /**
   * A keeper-held mount is gone (its daemon saw the kernel end the connection): the MDS drops the
   * replies kept under its id, durably, before answering (`replies`: how many). Idempotent. Replies
   * of mounts that never call it go an hour after their last write (mds/mount-replies.ts).
   */
  forgetMount: { args: { mount: string }; result: { replies: number } };
  /** Gives a cache lock back; `cancelled` false if it was not held (e.g. dropped by an eviction). */
  lockCancel: { args: { id: number }; result: { cancelled: boolean } };
  /** lfs setstripe on a directory (default for new files in it) or on an empty regular file. */
  setstripe: { args: { xid: number; cred: Credentials; ino: number; policy: LayoutPolicy }; result: null };
  /** lfs getstripe: a file's layout, or a directory's effective default policy. */
  getstripe: { args: { ino: number }; result: { layout: Layout | null; policy: LayoutPolicy | null } };
}

export type MdsMethod = keyof MdsMethods;
