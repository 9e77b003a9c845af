// The Kubernetes seam of the CSI controller: FileSystem, Backup and DataRepositoryAssociation resources, read and written with a signal and a deadline.
import type { Backup, DataRepositoryAssociation, FileSystem } from '../../api/index.ts';

/**
 * One kind of custom resource in the API server. `get` gives undefined for a missing object;
 * `delete` is not an error when it is already gone; failures are KubeError (Conflict when `create`
 * finds the name taken, Invalid when the schema refuses the object). `list` with namespace ""
 * lists every namespace.
 */
export interface ResourceStore<T> {
  get(namespace: string, name: string, signal: AbortSignal): Promise<T | undefined>;
  create(obj: T, signal: AbortSignal): Promise<T>;
  delete(namespace: string, name: string, signal: AbortSignal): Promise<void>;
  mergePatch(namespace: string, name: string, patch: object, signal: AbortSignal): Promise<T>;
  list(namespace: string, labelSelector: string, signal: AbortSignal): Promise<T[]>;
}

export interface ControllerStores {
  fileSystems: ResourceStore<FileSystem>;
  backups: ResourceStore<Backup>;
  /** The S3 associations of file-system-per-volume volumes (named as their FileSystem). */
  associations: ResourceStore<DataRepositoryAssociation>;
}

/** Labels and annotations the driver puts on what it creates. */
export const LABEL_VOLUME = 'csi.nacre.dev/volume';
export const LABEL_SNAPSHOT = 'csi.nacre.dev/snapshot';
/** On a FileSystem that holds sub-directory volumes. */
export const LABEL_SHARED = 'csi.nacre.dev/shared';
/** The CSI name the object was created for. */
export const ANNOTATION_NAME = 'csi.nacre.dev/name';
/** On a Backup: the volume's capacity in GiB when the snapshot was taken (its CSI size_bytes). */
export const ANNOTATION_SIZE_GIB = 'csi.nacre.dev/size-gib';
/** A fingerprint of the request that created it: a repeat with a different request is AlreadyExists. */
export const ANNOTATION_REQUEST = 'csi.nacre.dev/request';
