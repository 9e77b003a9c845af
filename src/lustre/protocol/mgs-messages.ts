// The MGS's RPC surface: the registry of servers and file systems, and the config clients fetch at mount.
import type { LayoutPolicy } from '../types.ts';
import type { RootSquash } from './root-squash.ts';

export type ServerRole = 'mds' | 'oss';

export interface ServerInfo {
  /** Stable name of the server process, e.g. "oss-node1-0". */
  name: string;
  role: ServerRole;
  /** Address clients and other servers use: "host:port". */
  address: string;
  /** Unix socket clients on the same host may use instead ("unix:/path"), if any. */
  localAddress?: string;
  /** The host (node) the server runs on; local-first placement compares it with the client's. */
  host: string;
  /**
   * Bytes this server can give to new targets. An OSS reports its budget (configured, else the disk's
   * free space plus what its targets use) minus the capacities of the targets it already has.
   */
  capacityBytes: number;
}

export interface TargetConfig {
  /** Lustre-style target name: "<fsname>-OST0003" / "<fsname>-MDT0000". */
  target: string;
  index: number;
  server: string;
  address: string;
  localAddress?: string;
  host: string;
  capacityBytes: number;
}

export interface FileSystemConfig {
  fsname: string;
  mdt: TargetConfig;
  osts: TargetConfig[];
  defaultLayout: LayoutPolicy;
  /** 1 (SCRATCH) or 2 (PERSISTENT): copies of each OST object, on distinct servers. */
  replicas: number;
  /** Bumped on every change (new OSTs, failover). */
  generation: number;
  /** Root squash, enforced by the MDS; absent: root is root. */
  rootSquash?: RootSquash;
}

export interface CreateFileSystemRequest {
  fsname: string;
  ostCount: number;
  ostCapacityBytes: number;
  defaultLayout?: Partial<LayoutPolicy>;
  replicas?: number;
  /** Root squash from the start (an existing file system keeps its own: see setRootSquash). */
  rootSquash?: RootSquash;
}

/**
 * Errors (the `code` callers see): EINVAL for a bad argument (fsname must be 1-8 characters
 * [a-z0-9]), ENOENT for an unknown file system, EEXIST when an fsname is taken with other
 * parameters, EBUSY while a file system is being destroyed (or, for addOsts, still being created),
 * ENOSPC when no OSS server has room, 'InsufficientServers' when no MDS / OSS is registered and alive
 * (or fewer than two OSS servers for replicas=2), 'Unavailable' when an OSS could not be reached.
 */
export interface MgsMethods {
  /**
   * Servers call this at start and then periodically (also re-registers after an MGS restart).
   * A server that registers with a new address moves its targets in every config (generation + 1).
   */
  registerServer: { args: ServerInfo; result: null };
  listServers: { args: Record<string, never>; result: (ServerInfo & { lastSeenMs: number })[] };
  /**
   * Allocates an MDT and `ostCount` OSTs on registered servers (spreading OSTs over servers) and
   * creates them there. Idempotent: the same fsname and parameters return the existing config, and
   * finish a creation that failed midway (e.g. an OSS was unreachable).
   */
  createFileSystem: { args: CreateFileSystemRequest; result: FileSystemConfig };
  /** Adds OSTs (capacity growth). On failure nothing is added (targets already created are removed). */
  addOsts: { args: { fsname: string; count: number; ostCapacityBytes: number }; result: FileSystemConfig };
  /**
   * Destroys the targets and their data. Not an error if absent. If an OSS cannot be reached it
   * fails with 'Unavailable' and the file system stays recorded as being destroyed (getConfig:
   * ENOENT); calling again finishes the job.
   */
  destroyFileSystem: { args: { fsname: string }; result: null };
  /** ENOENT if unknown, EAGAIN while being created. */
  getConfig: { args: { fsname: string }; result: FileSystemConfig };
  /** File systems that are created and not being destroyed, by fsname. */
  listFileSystems: { args: Record<string, never>; result: FileSystemConfig[] };
  /** Sets (or, with null, clears) root squash; the MDS applies it within its poll interval. ENOENT, EAGAIN as getConfig; EINVAL for a bad setting. */
  setRootSquash: { args: { fsname: string; rootSquash: RootSquash | null }; result: FileSystemConfig };
}

export type MgsMethod = keyof MgsMethods;
