// The controller's seam to FSx: a narrow slice of the SDK below, a domain interface in Nacre's types above, one FSxClient per backend.
import { FSxClient } from '@aws-sdk/client-fsx';
import type {
  DataRepositoryAssociationSpec,
  DataRepositoryTaskSpec,
  FileSystemSpec,
  LustreConfiguration,
  Tag,
} from '../api/index.ts';

/** The only part of the SDK the seam uses. Tests pass a stub. */
export type FsxApi = Pick<FSxClient, 'send'>;

/** Settings of a file system as the backend reports them, in the spec's words. */
export interface FileSystemInfo {
  fileSystemId: string;
  /** The backend's Lifecycle, verbatim. */
  lifecycle: string;
  failureMessage?: string;
  dnsName?: string;
  mountName?: string;
  storageCapacity?: number;
  storageType?: string;
  fileSystemTypeVersion?: string;
  resourceARN?: string;
  ownerId?: string;
  vpcId?: string;
  networkInterfaceIds?: string[];
  tags: Tag[];
  lustre: Partial<LustreConfiguration>;
  /** A FILE_SYSTEM_UPDATE administrative action is PENDING or IN_PROGRESS. */
  updatePending: boolean;
  /** Message of the latest FILE_SYSTEM_UPDATE action when it FAILED. */
  updateFailure?: string;
  /** The legacy S3 link (ImportPath): its Lifecycle, verbatim, and why it failed. */
  dataRepository?: { lifecycle: string; failureMessage?: string };
}

/** The changeable Lustre settings of UpdateFileSystem. */
export type FileSystemLustreUpdate = Partial<
  Pick<
    LustreConfiguration,
    | 'weeklyMaintenanceStartTime'
    | 'dailyAutomaticBackupStartTime'
    | 'automaticBackupRetentionDays'
    | 'autoImportPolicy'
    | 'dataCompressionType'
    | 'logConfiguration'
    | 'rootSquashConfiguration'
    | 'perUnitStorageThroughput'
    | 'metadataConfiguration'
    | 'throughputCapacity'
    | 'dataReadCacheConfiguration'
  >
>;

/** The changeable settings of UpdateFileSystem; only those set are sent. */
export interface FileSystemUpdate {
  storageCapacity?: number;
  fileSystemTypeVersion?: string;
  lustreConfiguration?: FileSystemLustreUpdate;
}

/** What CreateFileSystem (or CreateFileSystemFromBackup, with spec.backupID) gets. */
export interface FileSystemCreate {
  spec: FileSystemSpec;
  /** Tags added to spec.tags (ownership, stripe defaults). */
  extraTags: Tag[];
  /** Makes the call idempotent: a repeat returns the first call's file system. */
  clientRequestToken: string;
}

export interface BackupInfo {
  backupId: string;
  lifecycle: string;
  fileSystemId?: string;
  failureMessage?: string;
  progressPercent?: number;
  type?: string;
  creationTime?: string;
  resourceARN?: string;
}

export interface AssociationInfo {
  associationId: string;
  lifecycle: string;
  fileSystemId?: string;
  failureMessage?: string;
  resourceARN?: string;
  importedFileChunkSize?: number;
  s3?: DataRepositoryAssociationSpec['s3'];
}

export interface TaskInfo {
  taskId: string;
  lifecycle: string;
  fileSystemId?: string;
  failureMessage?: string;
  startTime?: string;
  endTime?: string;
  totalCount?: number;
  succeededCount?: number;
  failedCount?: number;
  releasedCapacity?: number;
  lastUpdatedTime?: string;
  resourceARN?: string;
}

/**
 * FSx for Lustre as the controller sees it. Every method takes an AbortSignal and has its own
 * deadline. Failures are FsxError (see backend-errors.ts); `describe*` return undefined for a
 * resource that does not exist, `delete*` treat one as already deleted. Creation is idempotent by
 * clientRequestToken: a repeat with the same token and request returns the first result; with a
 * different request it fails with IdempotencyConflict.
 */
export interface FileSystemBackend {
  createFileSystem(req: FileSystemCreate, signal: AbortSignal): Promise<FileSystemInfo>;
  describeFileSystem(fileSystemId: string, signal: AbortSignal): Promise<FileSystemInfo | undefined>;
  /** The file system carrying tag `key` = `value`, if any (a slow scan: for recovery only). */
  findFileSystemByTag(key: string, value: string, signal: AbortSignal): Promise<FileSystemInfo | undefined>;
  updateFileSystem(
    fileSystemId: string,
    update: FileSystemUpdate,
    clientRequestToken: string,
    signal: AbortSignal,
  ): Promise<FileSystemInfo>;
  /** Adds `tags` to the resource, replacing the values of keys it already has. */
  tagResource(resourceARN: string, tags: Tag[], signal: AbortSignal): Promise<void>;
  /** Starts deleting. Returns false when the file system did not exist. */
  deleteFileSystem(
    fileSystemId: string,
    opts: { skipFinalBackup: boolean; finalBackupTags?: Tag[]; clientRequestToken: string },
    signal: AbortSignal,
  ): Promise<boolean>;

  createBackup(
    fileSystemId: string,
    tags: Tag[],
    clientRequestToken: string,
    signal: AbortSignal,
  ): Promise<BackupInfo>;
  describeBackup(backupId: string, signal: AbortSignal): Promise<BackupInfo | undefined>;
  /** Returns false when the backup did not exist. */
  deleteBackup(backupId: string, clientRequestToken: string, signal: AbortSignal): Promise<boolean>;

  createDataRepositoryAssociation(
    fileSystemId: string,
    spec: DataRepositoryAssociationSpec,
    clientRequestToken: string,
    signal: AbortSignal,
  ): Promise<AssociationInfo>;
  describeDataRepositoryAssociation(
    associationId: string,
    signal: AbortSignal,
  ): Promise<AssociationInfo | undefined>;
  updateDataRepositoryAssociation(
    associationId: string,
    update: Pick<DataRepositoryAssociationSpec, 'importedFileChunkSize' | 's3'>,
    clientRequestToken: string,
    signal: AbortSignal,
  ): Promise<AssociationInfo>;
  /** Returns false when the association did not exist. */
  deleteDataRepositoryAssociation(
    associationId: string,
    deleteData: boolean,
    clientRequestToken: string,
    signal: AbortSignal,
  ): Promise<boolean>;

  createDataRepositoryTask(
    fileSystemId: string,
    spec: DataRepositoryTaskSpec,
    clientRequestToken: string,
    signal: AbortSignal,
  ): Promise<TaskInfo>;
  describeDataRepositoryTask(taskId: string, signal: AbortSignal): Promise<TaskInfo | undefined>;
  /** Returns false when the task did not exist or had already ended. */
  cancelDataRepositoryTask(taskId: string, signal: AbortSignal): Promise<boolean>;
}

/** How to reach one backend's FSx API. */
export type FsxEndpoint =
  | { kind: 'aws'; region?: string }
  | {
      kind: 'emulated';
      endpoint: string;
      region: string;
      accessKeyId: string;
      secretAccessKey: string;
    };

/**
 * An SDK client for `target`: AWS with the default credential chain and Region (unless one is
 * given), or the emulator's endpoint with static credentials. SDK retries are kept low: the
 * controller's work queue backs off between reconciles instead.
 */
export function createFsxSdkClient(target: FsxEndpoint, opts: { maxAttempts?: number } = {}): FSxClient {
  const maxAttempts = opts.maxAttempts ?? 2;
  if (target.kind === 'aws') {
    return new FSxClient({ maxAttempts, ...(target.region ? { region: target.region } : {}) });
  }
  return new FSxClient({
    maxAttempts,
    endpoint: target.endpoint,
    region: target.region,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
  });
}

export { FsxError, type FsxErrorCode, isFsxError, translateFsxError } from './backend-errors.ts';
