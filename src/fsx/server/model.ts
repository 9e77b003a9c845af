// The emulator's resources as the FSx API returns them (wire shapes: timestamps are epoch seconds), plus the state it keeps beside them.
import type { Tag } from './http/input.ts';
import type { RepositoryState } from './repository-model.ts';

export type DeploymentType = 'SCRATCH_1' | 'SCRATCH_2' | 'PERSISTENT_1' | 'PERSISTENT_2';
export type StorageType = 'SSD' | 'HDD' | 'INTELLIGENT_TIERING';
export type FileSystemLifecycle =
  | 'AVAILABLE'
  | 'CREATING'
  | 'FAILED'
  | 'DELETING'
  | 'MISCONFIGURED'
  | 'UPDATING';
export type BackupLifecycle = 'AVAILABLE' | 'CREATING' | 'TRANSFERRING' | 'DELETED' | 'FAILED' | 'PENDING';
export type ActionStatus =
  | 'FAILED'
  | 'IN_PROGRESS'
  | 'PENDING'
  | 'COMPLETED'
  | 'UPDATED_OPTIMIZING'
  | 'OPTIMIZING';

export const DEPLOYMENT_TYPES = ['SCRATCH_1', 'SCRATCH_2', 'PERSISTENT_1', 'PERSISTENT_2'] as const;
export const STORAGE_TYPES = ['SSD', 'HDD', 'INTELLIGENT_TIERING'] as const;
export const AUTO_IMPORT_POLICIES = ['NONE', 'NEW', 'NEW_CHANGED', 'NEW_CHANGED_DELETED'] as const;
export const LOG_LEVELS = ['DISABLED', 'WARN_ONLY', 'ERROR_ONLY', 'WARN_ERROR'] as const;

export interface LustreConfiguration {
  WeeklyMaintenanceStartTime: string;
  DeploymentType: DeploymentType;
  PerUnitStorageThroughput?: number;
  /** Also the emulator's Lustre fsname. */
  MountName: string;
  DailyAutomaticBackupStartTime?: string;
  AutomaticBackupRetentionDays: number;
  CopyTagsToBackups: boolean;
  DriveCacheType?: 'NONE' | 'READ';
  DataCompressionType: 'NONE' | 'LZ4';
  LogConfiguration: { Level: string; Destination?: string };
  RootSquashConfiguration?: { RootSquash?: string; NoSquashNids?: string[] };
  MetadataConfiguration?: { Iops?: number; Mode: 'AUTOMATIC' | 'USER_PROVISIONED' };
  EfaEnabled?: boolean;
  /** The legacy S3 link of CreateFileSystem's ImportPath/ExportPath (mirrors its hidden association). */
  DataRepositoryConfiguration?: {
    Lifecycle: string;
    ImportPath: string;
    ExportPath: string;
    ImportedFileChunkSize: number;
    AutoImportPolicy: string;
    FailureDetails?: { Message: string };
  };
}

export interface AdministrativeAction {
  AdministrativeActionType: 'FILE_SYSTEM_UPDATE' | 'STORAGE_OPTIMIZATION';
  ProgressPercent?: number;
  RequestTime: number;
  Status: ActionStatus;
  TargetFileSystemValues?: Partial<FileSystem>;
  FailureDetails?: { Message: string };
}

export interface FileSystem {
  OwnerId: string;
  CreationTime: number;
  FileSystemId: string;
  FileSystemType: 'LUSTRE';
  Lifecycle: FileSystemLifecycle;
  FailureDetails?: { Message: string };
  StorageCapacity: number;
  StorageType: StorageType;
  VpcId: string;
  SubnetIds: string[];
  NetworkInterfaceIds: string[];
  DNSName: string;
  KmsKeyId?: string;
  ResourceARN: string;
  Tags: Tag[];
  LustreConfiguration: LustreConfiguration;
  AdministrativeActions?: AdministrativeAction[];
  FileSystemTypeVersion: string;
}

export interface Backup {
  BackupId: string;
  Lifecycle: BackupLifecycle;
  FailureDetails?: { Message: string };
  Type: 'AUTOMATIC' | 'USER_INITIATED' | 'AWS_BACKUP';
  ProgressPercent: number;
  CreationTime: number;
  KmsKeyId?: string;
  ResourceARN: string;
  Tags: Tag[];
  FileSystem: FileSystem;
  OwnerId: string;
  ResourceType: 'FILE_SYSTEM';
  SizeInBytes?: number;
}

/** Asynchronous work a file system is waiting for; resumed after a restart. */
export type FileSystemJob =
  | { kind: 'create' }
  | { kind: 'restore'; backupId: string; started?: boolean }
  | { kind: 'grow'; fromOstCount: number; addCount: number; ostCapacityBytes: number; toCapacity: number }
  | { kind: 'delete'; finalBackupId?: string };

export interface FileSystemRecord {
  fs: FileSystem;
  /** OSTs the MGS allocated for this file system, as far as the emulator knows. */
  ostCount: number;
  job?: FileSystemJob;
  /** When the current job started retrying transient failures (ms since the epoch). */
  jobSince?: number;
}

export interface BackupRecord {
  backup: Backup;
  /** The file system's MountName (fsname) the backup reads from. */
  fsname: string;
  /** A backup in CREATING has work pending (resumed after a restart). */
  pending?: boolean;
  /** File systems being restored from this backup right now. */
  restoring?: string[];
}

/** What an idempotent request left behind: the request's fingerprint and the resource it made. */
export interface TokenRecord {
  hash: string;
  resourceId: string;
  atMs: number;
  response?: unknown;
}

export interface ApiState {
  version: 1;
  fileSystems: Record<string, FileSystemRecord>;
  backups: Record<string, BackupRecord>;
  tokens: Record<string, TokenRecord>;
  /** Data repository associations and tasks (absent in state written before they existed). */
  repositories?: RepositoryState;
}
