// The DataRepositoryAssociation resource: a link between a file system directory and an S3 prefix (CreateDataRepositoryAssociation).
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
import { bool, type Infer, int, list, obj, oneOf, str } from './schema.ts';

const events = list(
  oneOf(['NEW', 'CHANGED', 'DELETED'] as const, 'A kind of change.'),
  'Which changes are propagated.',
  { maxItems: 3, listType: 'set' },
);

export const draSpec = obj(
  'An association between a file system path and an S3 data repository path.',
  {
    backend: backendField,
    fileSystemRef: fileSystemRefField,
    fileSystemID: str('The FSx ID of the file system.', { pattern: fileSystemIdPattern, maxLength: 21 }),
    fileSystemPath: str('Directory of the file system linked to the repository, e.g. /ns1/.', {
      minLength: 1,
      maxLength: 4096,
      pattern: '^/[^\\r\\n]*$',
    }),
    dataRepositoryPath: str('S3 URI of the repository, s3://bucket/prefix/.', {
      minLength: 3,
      maxLength: 4357,
      pattern: '^s3://[^\\r\\n]+$',
    }),
    batchImportMetaDataOnCreate: bool('Import the repository’s metadata when the association is created.'),
    importedFileChunkSize: int('Stripe size in MiB of files imported from the repository.', {
      min: 1,
      max: 512000,
    }),
    s3: obj('Automatic import and export.', {
      autoImportPolicy: obj('Changes in the bucket reflected in the file system.', { events }),
      autoExportPolicy: obj('Changes in the file system exported to the bucket.', { events }),
    }),
    deleteDataInFileSystem: bool('On delete, also remove the files of the association from the file system.'),
    tags: tagsField,
    deletionPolicy: deletionPolicyField,
  },
  {
    required: ['dataRepositoryPath'],
    immutable: [
      ...FILE_SYSTEM_TARGET_FIELDS,
      'fileSystemPath',
      'dataRepositoryPath',
      'batchImportMetaDataOnCreate',
    ],
    validations: fileSystemTargetRules,
  },
);
export type DataRepositoryAssociationSpec = Infer<typeof draSpec>;

export const draStatus = obj('What the controller last saw of the association.', {
  associationID: str('The FSx association ID.'),
  fileSystemID: str('The file system of the association.'),
  backend: backendStatusField,
  lifecycle: str(
    'The backend’s Lifecycle, verbatim (CREATING, AVAILABLE, MISCONFIGURED, UPDATING, DELETING, FAILED).',
  ),
  resourceARN: str('The association’s ARN.'),
  failureDetails: failureDetailsField,
  observedGeneration: observedGenerationField,
  conditions: conditionsField,
});
export type DataRepositoryAssociationStatus = Infer<typeof draStatus>;

export type DataRepositoryAssociation = Resource<
  'DataRepositoryAssociation',
  DataRepositoryAssociationSpec,
  DataRepositoryAssociationStatus
>;

export const draCrd: CrdDefinition = {
  kind: 'DataRepositoryAssociation',
  plural: 'datarepositoryassociations',
  shortNames: ['fsxdra'],
  description: 'A data repository association of an FSx for Lustre file system.',
  spec: draSpec,
  status: draStatus,
  specRequired: true,
  columns: [
    { name: 'ID', type: 'string', jsonPath: '.status.associationID' },
    { name: 'FileSystem', type: 'string', jsonPath: '.status.fileSystemID' },
    { name: 'Path', type: 'string', jsonPath: '.spec.fileSystemPath' },
    { name: 'Repository', type: 'string', jsonPath: '.spec.dataRepositoryPath' },
    { name: 'Lifecycle', type: 'string', jsonPath: '.status.lifecycle' },
    conditionColumn('Ready', 'Ready'),
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
