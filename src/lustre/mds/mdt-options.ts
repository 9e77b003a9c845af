// What an MDT is opened with (its database, OSTs and the operations it calls on them, timings), and who calls it.
import type { ServerSession } from '../protocol/rpc-server.ts';
import type { LayoutPolicy } from '../types.ts';
import type { DestroyObjects } from './destroy-queue.ts';
import type { Glimpse } from './evict-glimpse.ts';
import type { OstInfo } from './layout.ts';
import type { MountReplyOptions } from './mount-replies.ts';
import type { ResyncObject } from './resync-queue.ts';
import type { Synchronous } from './schema.ts';
import type { PunchObjects } from './size-settle.ts';
import type { OstSnapshotOps } from './snapshots.ts';

export interface MdtOptions {
  /** Database file (':memory:' in tests). */
  path: string;
  fsname: string;
  osts: () => Promise<OstInfo[]>;
  destroyObjects: DestroyObjects;
  /** Copies a good mirror object over a stale one; without it stale copies stay recorded (and unread). */
  resyncObject?: ResyncObject;
  /** Reads a file's size from its OST objects, for the files an evicted writer left open. */
  glimpse?: Glimpse;
  /** Freezes and snapshots every OST (point-in-time snapshots); without it snapshots are refused. */
  ostSnapshots?: OstSnapshotOps;
  /** Cuts a file's objects to a size (a truncate its client did not finish); without it such reports grow nothing. */
  punchObjects?: PunchObjects;
  /** Delay after the last report of a stale copy before it is resynced. Default 1 s. */
  resyncSettleMs?: number;
  replicas?: number;
  defaultLayout?: LayoutPolicy;
  /** Eviction delay of a client without a session (also after a restart). Default 30 s. */
  graceMs?: number;
  /** Delay before a client without a session loses its locks. Default min(5 s, graceMs). */
  lockGraceMs?: number;
  synchronous?: Synchronous;
  /** false commits each mutation alone (for measurement). */
  groupCommit?: boolean;
  /** Replies kept per client for retried xids. Default 1024. */
  replyCacheSize?: number;
  /** When the replies keyed by a gone mount's id are dropped (mount-replies.ts). */
  mountReplies?: MountReplyOptions;
  clock?: () => number;
  ostRefreshMs?: number;
  /** See NsConfig.unlinkLingerMs. Default 5 s. */
  unlinkLingerMs?: number;
}

/** A caller on the wire: the client it connected as, and the session a request came on. */
export interface Caller {
  client: string;
  host: string;
  session: ServerSession | undefined;
}
