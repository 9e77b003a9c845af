// What every API operation works with: the durable state, the emulator's settings and the seams to the MGS and backups.
import type { BackupService } from './backups/backup-service.ts';
import type { TargetAllocator } from './file-systems/target-allocator.ts';
import type { DataRepositoryService, RepositoryJobs } from './repository-service.ts';
import type { StateStore } from './state-store.ts';

/** Account quotas the emulator enforces (FSx's defaults unless configured). */
export interface Limits {
  /** File systems per account (FSx: 100). */
  fileSystems: number;
  /** Total StorageCapacity of all Lustre file systems, GiB (FSx default quota: 100800). */
  totalStorageGiB: number;
  /** User-initiated backups per account (FSx: 500). */
  userInitiatedBackups: number;
}

export const DEFAULT_LIMITS: Limits = {
  fileSystems: 100,
  totalStorageGiB: 100_800,
  userInitiatedBackups: 500,
};

/** The asynchronous work behind CREATING, UPDATING and DELETING; see lifecycle.ts. */
export interface Jobs {
  /** Starts (or keeps running) the pending job of a file system. */
  kickFileSystem(id: string): void;
  /** Runs the backup if it is pending; resolves when it finished. Concurrent calls share one run. */
  runBackup(id: string): Promise<void>;
}

export interface ApiContext {
  readonly store: StateStore;
  readonly region: string;
  readonly accountId: string;
  /** What DNSName holds: the MGS address `nacre mount <DNSName>@tcp:/<MountName>` reaches. */
  readonly mountHost: string;
  /** Emulated bytes per FSx GiB. */
  readonly capacityScale: number;
  readonly allocator: TargetAllocator;
  /** Undefined when the emulator has no way to read file systems (no client configured). */
  readonly backups: BackupService | undefined;
  readonly limits: Limits;
  readonly jobs: Jobs;
  /** The HSM agent behind data repository associations and tasks; undefined when S3 is not configured. */
  readonly repositories: DataRepositoryService | undefined;
  readonly repositoryJobs: RepositoryJobs;
  /** The clock of resource timestamps and schedules (ms since the epoch). */
  now(): number;
}
