// The MGS's RPC surface: the registry of servers and file systems, and the config clients fetch at mount.
import type { LayoutPolicy } from '../types.ts';

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
  /** Bytes this server can give to new targets. */
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
}

export interface CreateFileSystemRequest {
  fsname: string;
  ostCount: number;
  ostCapacityBytes: number;
  defaultLayout?: Partial<LayoutPolicy>;
  replicas?: number;
}

export interface MgsMethods {
  /** Servers call this at start and then periodically (also re-registers after an MGS restart). */
  registerServer: { args: ServerInfo; result: null };
  listServers: { args: Record<string, never>; result: (ServerInfo & { lastSeenMs: number })[] };
  /** Allocates an MDT and `ostCount` OSTs on registered servers (spreading OSTs over servers) and creates them there. */
  createFileSystem: { args: CreateFileSystemRequest; result: FileSystemConfig };
  /** Adds OSTs (capacity growth). */
  addOsts: { args: { fsname: string; count: number; ostCapacityBytes: number }; result: FileSystemConfig };
  /** Destroys the targets and their data. Not an error if absent. */
  destroyFileSystem: { args: { fsname: string }; result: null };
  getConfig: { args: { fsname: string }; result: FileSystemConfig };
  listFileSystems: { args: Record<string, never>; result: FileSystemConfig[] };
}
