// The Backup resource: a user-initiated backup of an FSx for Lustre file system (CreateBackup).
import {
  backendField,
  backendStatusField,
  conditionColumn,
  conditionsField,
  deletionPolicyField,
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
import { type Infer, int, obj, str } from './schema.ts';

export const backupSpec = obj(
  'A backup of a file system (the CreateBackup request).',
  {
    backend: backendField,
    fileSystemRef: fileSystemRefField,
    fileSystemID: str('The FSx ID of the file system to back up.', {
      pattern: fileSystemIdPattern,
      maxLength: 21,
    }),
    tags: tagsField,
    deletionPolicy: deletionPolicyField,
  },
  { immutable: [...FILE_SYSTEM_TARGET_FIELDS, 'tags'], validations: fileSystemTargetRules },
);
export type BackupSpec = Infer<typeof backupSpec>;

export const backupStatus = obj('What the controller last saw of the backup.', {
  backupID: str('The FSx backup ID.'),
  fileSystemID: str('The file system backed up.'),
  backend: backendStatusField,
  lifecycle: str(
    'The backend’s Lifecycle, verbatim (CREATING, TRANSFERRING, AVAILABLE, DELETED, FAILED, PENDING).',
  ),
  progressPercent: int('How far the backup is.', { min: 0, max: 100 }),
  type: str('AUTOMATIC, USER_INITIATED or AWS_BACKUP.'),
  creationTime: str('When the backup was made.', { format: 'date-time' }),
  resourceARN: str('The backup’s ARN.'),
  failureDetails: failureDetailsField,
  observedGeneration: observedGenerationField,
  conditions: conditionsField,
});
export type BackupStatus = Infer<typeof backupStatus>;

export type Backup = Resource<'Backup', BackupSpec, BackupStatus>;

export const backupCrd: CrdDefinition = {
  kind: 'Backup',
  plural: 'backups',
  shortNames: ['fsxbackup'],
  description: 'A backup of an FSx for Lustre file system.',
  spec: backupSpec,
  status: backupStatus,
  specRequired: true,
  columns: [
    { name: 'ID', type: 'string', jsonPath: '.status.backupID' },
    { name: 'FileSystem', type: 'string', jsonPath: '.status.fileSystemID' },
    { name: 'Lifecycle', type: 'string', jsonPath: '.status.lifecycle' },
    { name: 'Progress', type: 'integer', jsonPath: '.status.progressPercent', priority: 1 },
    conditionColumn('Ready', 'Ready'),
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
