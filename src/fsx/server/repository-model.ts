// Data repository associations and tasks as the FSx API returns them (epoch-second timestamps), and the work the emulator keeps beside them.
import type { Tag } from './http/input.ts';

export type DataRepositoryLifecycle =
  | 'CREATING'
  | 'AVAILABLE'
  | 'MISCONFIGURED'
  | 'UPDATING'
  | 'DELETING'
  | 'FAILED';
export type TaskLifecycle = 'PENDING' | 'EXECUTING' | 'FAILED' | 'SUCCEEDED' | 'CANCELED' | 'CANCELING';
export type TaskType =
  | 'EXPORT_TO_REPOSITORY'
  | 'IMPORT_METADATA_FROM_REPOSITORY'
  | 'RELEASE_DATA_FROM_FILESYSTEM'
  | 'AUTO_RELEASE_DATA';
export type EventType = 'NEW' | 'CHANGED' | 'DELETED';

export const TASK_TYPES = [
  'EXPORT_TO_REPOSITORY',
  'IMPORT_METADATA_FROM_REPOSITORY',
  'RELEASE_DATA_FROM_FILESYSTEM',
  'AUTO_RELEASE_DATA',
] as const;
export const EVENT_TYPES = ['NEW', 'CHANGED', 'DELETED'] as const;
export const TERMINAL_TASK: readonly TaskLifecycle[] = ['FAILED', 'SUCCEEDED', 'CANCELED'];

export interface S3DataRepositoryConfiguration {
  AutoImportPolicy?: { Events: EventType[] };
  AutoExportPolicy?: { Events: EventType[] };
}

export interface DataRepositoryAssociation {
  AssociationId: string;
  ResourceARN: string;
  FileSystemId: string;
  Lifecycle: DataRepositoryLifecycle;
  FailureDetails?: { Message: string };
  /** Normalised: "/" or "/a/b" (no trailing slash). */
  FileSystemPath: string;
  /** "s3://bucket/prefix/" or "s3://bucket/". */
  DataRepositoryPath: string;
  BatchImportMetaDataOnCreate: boolean;
  ImportedFileChunkSize: number;
  S3?: S3DataRepositoryConfiguration;
  Tags: Tag[];
  CreationTime: number;
}

export interface CompletionReport {
  Enabled: boolean;
  Path?: string;
  Format?: 'REPORT_CSV_20191124';
  Scope?: 'FAILED_FILES_ONLY';
}

export interface TaskStatus {
  TotalCount: number;
  SucceededCount: number;
  FailedCount: number;
  LastUpdatedTime: number;
  ReleasedCapacity?: number;
}

export interface DataRepositoryTask {
  TaskId: string;
  Lifecycle: TaskLifecycle;
  Type: TaskType;
  CreationTime: number;
  StartTime?: number;
  EndTime?: number;
  ResourceARN: string;
  Tags: Tag[];
  FileSystemId: string;
  Paths: string[];
  FailureDetails?: { Message: string };
  Status: TaskStatus;
  Report: CompletionReport;
  ReleaseConfiguration?: { DurationSinceLastAccess: { Unit: 'DAYS'; Value: number } };
}

/** Work an association waits for: link (check the repository, import if asked), relink after an update, unlink. */
export type AssociationJob =
  | { kind: 'create' }
  | { kind: 'update' }
  | { kind: 'delete'; deleteData: boolean };

export interface AssociationRecord {
  dra: DataRepositoryAssociation;
  job?: AssociationJob;
  /** The link of a file system created with ImportPath: not listed by DescribeDataRepositoryAssociations; exports go to this S3 path. */
  legacyExportPath?: string;
}

export interface TaskRecord {
  task: DataRepositoryTask;
  /** The association the task was created for (the automatic ones) or that the paths fall in. */
  associationIds: string[];
}

/** The part of the API state this feature owns (kept beside file systems and backups). */
export interface RepositoryState {
  associations: Record<string, AssociationRecord>;
  tasks: Record<string, TaskRecord>;
}
