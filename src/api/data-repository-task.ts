// The DataRepositoryTask resource: one import, export or release run against a file system's data repository (CreateDataRepositoryTask).
import {
  backendField,
  backendStatusField,
  conditionColumn,
  conditionsField,
  FILE_SYSTEM_TARGET_FIELDS,
  failureDetailsField,
  fileSystemIdPattern,
  fileSystemRefField,
  fileSystemTargetRules,
  observedGenerationField,
  type Resource,
  tagsField,
} from './common.ts';
import type { CrdDefinition } from './crd.ts';
import { bool, type Infer, int, list, obj, oneOf, str } from './schema.ts';

export const TASK_TYPES = [
  'EXPORT_TO_REPOSITORY',
  'IMPORT_METADATA_FROM_REPOSITORY',
  'RELEASE_DATA_FROM_FILESYSTEM',
  'AUTO_RELEASE_DATA',
] as const;

export const taskSpec = obj(
  'A data repository task (the CreateDataRepositoryTask request). A task runs once; its spec cannot change.',
  {
    backend: backendField,
    fileSystemRef: fileSystemRefField,
    fileSystemID: str('The FSx ID of the file system.', { pattern: fileSystemIdPattern, maxLength: 21 }),
    type: oneOf(TASK_TYPES, 'What the task does.'),
    paths: list(
      str('A path in the file system (or repository).', { maxLength: 4096 }),
      'Paths the task works on; all when empty.',
      {
        maxItems: 100,
      },
    ),
    report: obj(
      'The completion report.',
      {
        enabled: bool('Write a completion report.'),
        path: str('Where the report goes (an S3 URI under the data repository).', {
          minLength: 3,
          maxLength: 4357,
        }),
        format: oneOf(['REPORT_CSV_20191124'] as const, 'Report format.'),
        scope: oneOf(['FAILED_FILES_ONLY'] as const, 'Which files the report lists.'),
      },
      { required: ['enabled'] },
    ),
    capacityToRelease: int('GiB of storage to release (RELEASE_DATA_FROM_FILESYSTEM).', {
      min: 1,
      max: 2147483647,
    }),
    releaseConfiguration: obj('Which files are released.', {
      durationSinceLastAccess: obj('Release files not accessed for this long.', {
        unit: oneOf(['DAYS'] as const, 'Unit of value.'),
        value: int('How many units.', { min: 0, max: 999 }),
      }),
    }),
    tags: tagsField,
  },
  {
    required: ['type', 'report'],
    immutable: [
      ...FILE_SYSTEM_TARGET_FIELDS,
      'type',
      'paths',
      'report',
      'capacityToRelease',
      'releaseConfiguration',
      'tags',
    ],
    validations: fileSystemTargetRules,
  },
);
export type DataRepositoryTaskSpec = Infer<typeof taskSpec>;

export const taskStatus = obj('What the controller last saw of the task.', {
  taskID: str('The FSx task ID.'),
  fileSystemID: str('The file system of the task.'),
  backend: backendStatusField,
  lifecycle: str(
    'The backend’s Lifecycle, verbatim (PENDING, EXECUTING, FAILED, SUCCEEDED, CANCELED, CANCELING).',
  ),
  startTime: str('When the task started.', { format: 'date-time' }),
  endTime: str('When the task ended.', { format: 'date-time' }),
  totalCount: int('Files the task works on.', { min: 0, max: 2 ** 53 }),
  succeededCount: int('Files done.', { min: 0, max: 2 ** 53 }),
  failedCount: int('Files that failed.', { min: 0, max: 2 ** 53 }),
  releasedCapacity: int('Bytes released.', { min: 0, max: 2 ** 53 }),
  lastUpdatedTime: str('When the counts last changed.', { format: 'date-time' }),
  resourceARN: str('The task’s ARN.'),
  failureDetails: failureDetailsField,
  observedGeneration: observedGenerationField,
  conditions: conditionsField,
});
export type DataRepositoryTaskStatus = Infer<typeof taskStatus>;

export type DataRepositoryTask = Resource<
  'DataRepositoryTask',
  DataRepositoryTaskSpec,
  DataRepositoryTaskStatus
>;

export const taskCrd: CrdDefinition = {
  kind: 'DataRepositoryTask',
  plural: 'datarepositorytasks',
  shortNames: ['fsxtask'],
  description: 'A data repository task of an FSx for Lustre file system.',
  spec: taskSpec,
  status: taskStatus,
  specRequired: true,
  columns: [
    { name: 'ID', type: 'string', jsonPath: '.status.taskID' },
    { name: 'Type', type: 'string', jsonPath: '.spec.type' },
    { name: 'FileSystem', type: 'string', jsonPath: '.status.fileSystemID' },
    { name: 'Lifecycle', type: 'string', jsonPath: '.status.lifecycle' },
    { name: 'Succeeded', type: 'integer', jsonPath: '.status.succeededCount', priority: 1 },
    { name: 'Failed', type: 'integer', jsonPath: '.status.failedCount', priority: 1 },
    conditionColumn('Ready', 'Ready'),
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
