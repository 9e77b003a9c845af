// One MDT served on its own RPC endpoint: opens the MDT of a file system in a data directory and serves MdsMethods (tests and fixtures; the MDS process is mds-server.ts).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FsError, ValidationError } from '../../lib/errors.ts';
import { logger } from '../../lib/log.ts';
import { RpcServer } from '../protocol/rpc-server.ts';
import type { LayoutPolicy } from '../types.ts';
import type { DestroyObjects } from './destroy-queue.ts';
import type { Glimpse } from './evict-glimpse.ts';
import { checkPolicy, type OstInfo } from './layout.ts';
import { Mdt } from './mdt.ts';
import type { MountReplyOptions } from './mount-replies.ts';
import type { ResyncObject } from './resync-queue.ts';
import { bindMdsHandlers } from './rpc-handlers.ts';
import type { Synchronous } from './schema.ts';

export type { OstInfo } from './layout.ts';

export interface MdsOptions {
  /** Directory holding the MDT database (`<fsname>-MDT0000.db` and its WAL). Created if missing. */
  dataDir: string;
  listen: { host: string; port: number } | { path: string };
  fsname: string;
  /** The file system's OSTs (from the MGS); polled in the background, must settle within 5 s. */
  osts: () => Promise<OstInfo[]>;
  /** Destroys objects on one OST; must be idempotent (missing objects are not an error). */
  destroyObjects: DestroyObjects;
  /** Copies a good mirror object over a stale one (replicas 2); without it stale copies are never resynced. */
  resyncObject?: ResyncObject;
  /** Reads a file's size from its OST objects (for files an evicted writer left open). */
  glimpse?: Glimpse;
  /** 2 puts a mirror of every stripe on another server. Default 1. */
  replicas?: number;
  /** Layout of files in directories without a policy. Default 1 stripe of 1 MiB. */
  defaultLayout?: LayoutPolicy;
  /** How long clients from before a restart (or a dropped connection) may take to come back. Default 30 s. */
  graceMs?: number;
  /** Delay before a disconnected client loses its locks. Default min(5 s, graceMs). */
  lockGraceMs?: number;
  /** NORMAL (default) survives a kill of the process; FULL also a power loss. */
  synchronous?: Synchronous;
  /** false: one transaction per mutation instead of group commit (for measurement). */
  groupCommit?: boolean;
  /** When the replies keyed by a gone mount's id are dropped. Defaults: see MountReplyOptions. */
  mountReplies?: MountReplyOptions;
}

export interface MdsServer {
  address: string;
  /** Mirror copies recorded stale and not resynced yet. */
  staleCount(): number;
  close(): Promise<void>;
}

const FSNAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The database file of an MDT. */
export function mdtPath(dataDir: string, fsname: string): string {
  return join(dataDir, `${fsname}-MDT0000.db`);
}

/**
 * Starts an MDS serving one MDT (mds-server.ts serves several through
 * bindMdsHandlers, picking the MDT by the connect's fsname). Resolves once it listens; rejects
 * with ValidationError for bad options. `close` stops listening, ends every session and closes
 * the database (an acknowledged mutation is already durable; close adds nothing to that).
 */
export async function startMds(opts: MdsOptions): Promise<MdsServer> {
  if (!FSNAME.test(opts.fsname)) throw new ValidationError(`bad fsname "${opts.fsname}"`);
  if (opts.replicas !== undefined && opts.replicas !== 1 && opts.replicas !== 2) {
    throw new ValidationError('replicas must be 1 or 2');
  }
  if (opts.defaultLayout) {
    try {
      checkPolicy(opts.defaultLayout);
    } catch (err) {
      throw new ValidationError(`bad default layout: ${(err as FsError).message}`, { cause: err });
    }
  }
  await mkdir(opts.dataDir, { recursive: true });
  const mdt = await Mdt.open({
    path: mdtPath(opts.dataDir, opts.fsname),
    fsname: opts.fsname,
    osts: opts.osts,
    destroyObjects: opts.destroyObjects,
    ...(opts.resyncObject !== undefined && { resyncObject: opts.resyncObject }),
    ...(opts.glimpse !== undefined && { glimpse: opts.glimpse }),
    ...(opts.replicas !== undefined && { replicas: opts.replicas }),
    ...(opts.defaultLayout !== undefined && { defaultLayout: opts.defaultLayout }),
    ...(opts.graceMs !== undefined && { graceMs: opts.graceMs }),
    ...(opts.lockGraceMs !== undefined && { lockGraceMs: opts.lockGraceMs }),
    ...(opts.synchronous !== undefined && { synchronous: opts.synchronous }),
    ...(opts.groupCommit !== undefined && { groupCommit: opts.groupCommit }),
    ...(opts.mountReplies !== undefined && { mountReplies: opts.mountReplies }),
  });
  const server = new RpcServer('mds');
  bindMdsHandlers(server, (a) => {
    const fsname = a['fsname'];
    if (typeof fsname === 'string' && fsname !== mdt.fsname)
      throw new FsError('ENOENT', `no MDT of "${fsname}" here`);
    return mdt;
  });
  let address: string;
  try {
    address = await server.listen(opts.listen);
  } catch (err) {
    await mdt.close();
    throw err;
  }
  logger('mds').info('serving', { address, fsname: opts.fsname });
  return {
    address,
    staleCount: () => mdt.staleCount(),
    close: async () => {
      await server.close();
      await mdt.close();
    },
  };
}
