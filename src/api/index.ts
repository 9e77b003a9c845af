// The public face of src/api: resource types, names and the CRD definitions.
export type {
  Backup,
  BackupSpec,
  BackupStatus,
} from './backup.ts';
export {
  API_VERSION,
  BACKENDS,
  type Backend,
  type Condition,
  FINALIZER,
  GROUP,
  type ObjectMeta,
  type Resource,
  type Tag,
  VERSION,
} from './common.ts';
export { CRD_DEFINITIONS, crdManifests, renderCrds } from './crds.ts';
export type {
  DataRepositoryAssociation,
  DataRepositoryAssociationSpec,
  DataRepositoryAssociationStatus,
} from './data-repository-association.ts';
export type {
  DataRepositoryTask,
  DataRepositoryTaskSpec,
  DataRepositoryTaskStatus,
} from './data-repository-task.ts';
export {
  DEPLOYMENT_TYPES,
  type DeploymentType,
  type FileSystem,
  type FileSystemSpec,
  type FileSystemStatus,
  type LustreConfiguration,
} from './file-system.ts';
