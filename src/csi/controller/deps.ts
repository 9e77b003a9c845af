// What the CSI controller service is built from: its Kubernetes stores and its file-system connections.
import type { Logger } from '../../lib/log.ts';
import type { FileSystemConnections } from './connections.ts';
import type { ControllerStores } from './stores.ts';

export interface ControllerDeps {
  stores: ControllerStores;
  connections: FileSystemConnections;
  /** Namespace of the FileSystem and Backup resources the driver creates. */
  namespace: string;
  /** How long one call waits for a new file system or backup before answering "in progress" (default 8 s). */
  waitMs?: number;
  /** How long ListVolumes waits for one shared file system's volume directories before leaving them out (default 5 s). */
  listTimeoutMs?: number;
  log?: Logger;
}
