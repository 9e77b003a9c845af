// The port between the FSx API and the HSM agent: what associations and tasks ask of the data repository and the file system.
import type { DataRepositoryAssociation, DataRepositoryTask } from './repository-model.ts';

/** One file a task handled, as its completion report lists it. */
export interface FileResult {
  /** Path in the file system, relative to its root (no leading slash). */
  path: string;
  ok: boolean;
  /** FSx's error code for a failed file (S3AccessDenied, S3ObjectNotFound, FileDirty, …). */
  errorCode?: string;
}

export interface TaskProgress {
  /** Adds to the number of files the task will handle. */
  found(n: number): void;
  /** Records one file's outcome (counts and the report). */
  done(result: FileResult): void;
  /** Bytes of OST space a release freed. */
  released(bytes: number): void;
}

/** A task's work on one association of a file system. `paths` are file system paths (leading "/") inside it, or all of it. */
export interface TaskScope {
  fsname: string;
  association: DataRepositoryAssociation;
  paths: string[] | undefined;
  /** Where exports go when not to the association's DataRepositoryPath (a legacy ExportPath). */
  exportPath?: string;
}

/**
 * What the API needs from the HSM agent. Every method may be re-run after a crash (they converge
 * on the same result); a rejected promise is a task- or association-level failure whose message the
 * caller reports as FailureDetails, so it must say what to fix.
 */
export interface DataRepositoryService {
  /**
   * Checks that the association's bucket exists and the credentials reach it. Resolves undefined when
   * it does, or the reason it does not (the association becomes MISCONFIGURED with that message).
   */
  check(association: DataRepositoryAssociation, signal: AbortSignal): Promise<string | undefined>;
  /** Creates the association's directory in the file system if missing (not an error when it exists). */
  link(fsname: string, association: DataRepositoryAssociation, signal: AbortSignal): Promise<void>;
  /** Runs an import, export or release over one association's files. */
  run(task: DataRepositoryTask, scope: TaskScope, progress: TaskProgress, signal: AbortSignal): Promise<void>;
  /** Writes a completion report object ("s3://bucket/key") with `body` (CSV). */
  writeReport(url: string, body: string, signal: AbortSignal): Promise<void>;
  /** Ends automatic import and export; with `deleteData`, removes the association's files from the file system. */
  unlink(
    fsname: string,
    association: DataRepositoryAssociation,
    deleteData: boolean,
    signal: AbortSignal,
  ): Promise<void>;
  /** Tells the agent which associations are AVAILABLE now (starts and stops automatic import and export). */
  watch(fsname: string, associations: DataRepositoryAssociation[]): void;
}

/** What the operations ask of the runner. */
export interface RepositoryJobs {
  kickAssociation(id: string): void;
  kickTask(id: string): void;
  cancelTask(id: string): void;
  /** Links a file system created with ImportPath through a hidden association at "/" (import at creation, as FSx does). */
  linkLegacy(fileSystemId: string): void;
  /** A file system was deleted: its associations go and the agent lets go of it. */
  forgetFileSystem(fsname: string): void;
}
