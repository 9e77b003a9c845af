// The FileSystem resource: an FSx for Lustre file system, its spec in the FSx API's words (as ACK names them) and its status.
import {
  backendField,
  backendStatusField,
  conditionColumn,
  conditionsField,
  deletionPolicyField,
  failureDetailsField,
  fileSystemIdPattern,
  observedGenerationField,
  type Resource,
  tagsField,
} from './common.ts';
import type { CrdDefinition } from './crd.ts';
import { bool, type Infer, int, list, obj, oneOf, presenceFixed, str } from './schema.ts';

export const DEPLOYMENT_TYPES = ['SCRATCH_1', 'SCRATCH_2', 'PERSISTENT_1', 'PERSISTENT_2'] as const;
export type DeploymentType = (typeof DEPLOYMENT_TYPES)[number];

/** PerUnitStorageThroughput values FSx accepts, by deployment type and storage type. */
export const THROUGHPUT_BY_DEPLOYMENT = {
  PERSISTENT_1_SSD: [50, 100, 200],
  PERSISTENT_1_HDD: [12, 40],
  PERSISTENT_2_SSD: [125, 250, 500, 1000],
} as const;

const LUSTRE_IMMUTABLE = [
  'deploymentType',
  'importPath',
  'exportPath',
  'importedFileChunkSize',
  'driveCacheType',
  'efaEnabled',
  'copyTagsToBackups',
] as const;

const lustreConfiguration = obj(
  'The Lustre configuration (CreateFileSystemLustreConfiguration).',
  {
    deploymentType: oneOf(
      DEPLOYMENT_TYPES,
      'SCRATCH_1, SCRATCH_2, PERSISTENT_1 or PERSISTENT_2 (FSx default SCRATCH_1).',
    ),
    perUnitStorageThroughput: int(
      'Read and write throughput per TiB of storage, in MB/s/TiB (PERSISTENT only).',
      {
        enum: [12, 40, 50, 100, 125, 200, 250, 500, 1000],
      },
    ),
    dataCompressionType: oneOf(['NONE', 'LZ4'] as const, 'Data compression: NONE or LZ4.'),
    importPath: str('S3 URI (s3://bucket/prefix) of the linked data repository.', {
      minLength: 3,
      maxLength: 4357,
      pattern: '^s3://[^\\r\\n]+$',
    }),
    exportPath: str('S3 URI new and changed files are exported to.', {
      minLength: 3,
      maxLength: 4357,
      pattern: '^s3://[^\\r\\n]+$',
    }),
    importedFileChunkSize: int('Stripe size in MiB for files imported from the data repository.', {
      min: 1,
      max: 512000,
    }),
    autoImportPolicy: oneOf(
      ['NONE', 'NEW', 'NEW_CHANGED', 'NEW_CHANGED_DELETED'] as const,
      'How listings of the linked bucket are kept up to date.',
    ),
    weeklyMaintenanceStartTime: str('Weekly maintenance window start, d:HH:MM in UTC (1 = Monday).', {
      pattern: '^[1-7]:([01]\\d|2[0-3]):?([0-5]\\d)$',
    }),
    dailyAutomaticBackupStartTime: str('Daily automatic backup start, HH:MM in UTC.', {
      pattern: '^([01]\\d|2[0-3]):?([0-5]\\d)$',
    }),
    automaticBackupRetentionDays: int('Days to keep automatic backups; 0 disables them.', {
      min: 0,
      max: 90,
    }),
    copyTagsToBackups: bool('Copy the file system’s tags to its backups.'),
    driveCacheType: oneOf(['NONE', 'READ'] as const, 'SSD read cache of HDD file systems: NONE or READ.'),
    efaEnabled: bool('Elastic Fabric Adapter support (PERSISTENT_2 with a metadata configuration).'),
    logConfiguration: obj(
      'Lustre logging to CloudWatch Logs.',
      {
        level: oneOf(
          ['DISABLED', 'WARN_ONLY', 'ERROR_ONLY', 'WARN_ERROR'] as const,
          'Which events are logged.',
        ),
        destination: str('ARN of the CloudWatch Logs log group.', { minLength: 8, maxLength: 1024 }),
      },
      { required: ['level'] },
    ),
    rootSquashConfiguration: obj('Lustre root squash.', {
      rootSquash: str('UID:GID root is mapped to; 0:0 disables root squash.', {
        pattern: '^([0-9]{1,10}):([0-9]{1,10})$',
      }),
      noSquashNids: list(
        str('A client NID or NID range.', { maxLength: 43 }),
        'Clients root squash does not apply to.',
        {
          maxItems: 64,
        },
      ),
    }),
    metadataConfiguration: obj(
      'Metadata performance of PERSISTENT_2 file systems.',
      {
        mode: oneOf(['AUTOMATIC', 'USER_PROVISIONED'] as const, 'How metadata IOPS are provisioned.'),
        iops: int('Metadata IOPS (USER_PROVISIONED).', { min: 1500, max: 192000 }),
      },
      { required: ['mode'] },
    ),
    throughputCapacity: int('Throughput in MB/s of INTELLIGENT_TIERING file systems.', {
      min: 4000,
      max: 2000000,
    }),
    dataReadCacheConfiguration: obj('SSD read cache of INTELLIGENT_TIERING file systems.', {
      sizingMode: oneOf(
        ['NO_CACHE', 'USER_PROVISIONED', 'PROPORTIONAL_TO_THROUGHPUT_CAPACITY'] as const,
        'Cache sizing.',
      ),
      sizeGiB: int('Cache size in GiB (USER_PROVISIONED).', { min: 32, max: 131072 }),
    }),
  },
  { immutable: LUSTRE_IMMUTABLE },
);

const lc = 'self.lustreConfiguration';
const hasLc = (field: string) => `has(self.lustreConfiguration) && has(${lc}.${field})`;
const deployment = (d: string) => `(${hasLc('deploymentType')} && ${lc}.deploymentType == '${d}')`;
const persistent = `(${hasLc('deploymentType')} && ${lc}.deploymentType.startsWith('PERSISTENT'))`;
const storage = (s: string) => `(has(self.storageType) && self.storageType == '${s}')`;
const pust = `${lc}.perUnitStorageThroughput`;
const hasPust = hasLc('perUnitStorageThroughput');

const crossFieldRules = [
  {
    rule: `!(${hasPust}) || ${persistent}`,
    message: 'lustreConfiguration.perUnitStorageThroughput applies only to PERSISTENT_1 and PERSISTENT_2',
    fieldPath: '.lustreConfiguration.perUnitStorageThroughput',
  },
  {
    rule: `!${persistent} || ${storage('INTELLIGENT_TIERING')} || ${hasPust}`,
    message: 'lustreConfiguration.perUnitStorageThroughput is required for PERSISTENT_1 and PERSISTENT_2',
    fieldPath: '.lustreConfiguration.perUnitStorageThroughput',
    reason: 'FieldValueRequired' as const,
  },
  {
    rule: `!(${hasPust}) || !${deployment('PERSISTENT_2')} || ${pust} in [125, 250, 500, 1000]`,
    message: 'lustreConfiguration.perUnitStorageThroughput for PERSISTENT_2 must be 125, 250, 500 or 1000',
    fieldPath: '.lustreConfiguration.perUnitStorageThroughput',
  },
  {
    rule: `!(${hasPust}) || !${deployment('PERSISTENT_1')} || ${storage('HDD')} || ${pust} in [50, 100, 200]`,
    message: 'lustreConfiguration.perUnitStorageThroughput for PERSISTENT_1 SSD must be 50, 100 or 200',
    fieldPath: '.lustreConfiguration.perUnitStorageThroughput',
  },
  {
    rule: `!(${hasPust}) || !${deployment('PERSISTENT_1')} || !${storage('HDD')} || ${pust} in [12, 40]`,
    message: 'lustreConfiguration.perUnitStorageThroughput for PERSISTENT_1 HDD must be 12 or 40',
    fieldPath: '.lustreConfiguration.perUnitStorageThroughput',
  },
  {
    rule: `!${storage('HDD')} || ${deployment('PERSISTENT_1')}`,
    message: 'storageType HDD requires lustreConfiguration.deploymentType PERSISTENT_1',
    fieldPath: '.storageType',
  },
  {
    rule: `!(${hasLc('driveCacheType')}) || ${storage('HDD')}`,
    message: 'lustreConfiguration.driveCacheType applies only to storageType HDD',
    fieldPath: '.lustreConfiguration.driveCacheType',
  },
  {
    rule: `!(${hasLc('exportPath')}) || ${hasLc('importPath')}`,
    message: 'lustreConfiguration.exportPath requires lustreConfiguration.importPath',
    fieldPath: '.lustreConfiguration.exportPath',
  },
  {
    rule: 'has(self.storageCapacity) || has(self.fileSystemID) || has(self.backupID)',
    message: 'storageCapacity is required unless fileSystemID (adopt) or backupID (restore) is set',
    fieldPath: '.storageCapacity',
    reason: 'FieldValueRequired' as const,
  },
  {
    rule: '!(has(self.fileSystemID) && has(self.backupID))',
    message: 'fileSystemID (adopt) and backupID (restore) cannot both be set',
    fieldPath: '.backupID',
  },
  {
    rule: `!has(self.skipFinalBackup) || self.skipFinalBackup || ${persistent}`,
    message:
      'skipFinalBackup: false needs a PERSISTENT deployment type (SCRATCH file systems have no backups)',
    fieldPath: '.skipFinalBackup',
  },
];

export const fileSystemSpec = obj(
  'The desired FSx for Lustre file system (the CreateFileSystem request) and how Nacre manages it.',
  {
    backend: backendField,
    deletionPolicy: deletionPolicyField,
    skipFinalBackup: bool(
      'Delete without a final backup (the FSx default). false takes one first; PERSISTENT deployment types only.',
    ),
    fileSystemID: str(
      'Adopt this existing file system instead of creating one. Adopted file systems are retained on delete unless deletionPolicy says Delete.',
      {
        pattern: fileSystemIdPattern,
        maxLength: 21,
      },
    ),
    backupID: str('Create the file system from this backup (CreateFileSystemFromBackup).', {
      pattern: '^(backup-[0-9a-f]{8,})$',
      maxLength: 128,
    }),
    fileSystemType: oneOf(['LUSTRE'] as const, 'Always LUSTRE.', { default: 'LUSTRE' }),
    fileSystemTypeVersion: str('Lustre version: 2.10, 2.12 or 2.15.', {
      pattern: '^[0-9](.[0-9]*)*$',
      maxLength: 20,
    }),
    storageCapacity: int('Storage capacity in GiB. It can grow, never shrink.', {
      min: 1200,
      max: 2147483647,
      validations: [{ rule: 'self >= oldSelf', message: 'storageCapacity can only be increased' }],
    }),
    storageType: oneOf(['SSD', 'HDD', 'INTELLIGENT_TIERING'] as const, 'Storage class (FSx default SSD).'),
    subnetIDs: list(
      str('A subnet ID.', { pattern: '^(subnet-[0-9a-f]{8,})$', maxLength: 24 }),
      'The subnet the file system is reachable from (one for Lustre).',
      {
        maxItems: 50,
      },
    ),
    securityGroupIDs: list(
      str('A security group ID.', { pattern: '^(sg-[0-9a-f]{8,})$', maxLength: 20 }),
      'Security groups of the file system’s network interfaces.',
      { maxItems: 50 },
    ),
    kmsKeyID: str('KMS key for encryption at rest (PERSISTENT only).', { minLength: 1, maxLength: 2048 }),
    tags: tagsField,
    stripeCount: int('Default stripe count of new files (Lustre layout; -1 stripes over every OST).', {
      min: -1,
      max: 2000,
    }),
    stripeSize: int('Default stripe size of new files in bytes, a multiple of 64 KiB.', {
      min: 65536,
      max: 4294967296,
      validations: [
        { rule: 'self % 65536 == 0', message: 'stripeSize must be a multiple of 65536 (64 KiB)' },
      ],
    }),
    lustreConfiguration,
  },
  {
    immutable: [
      'backend',
      'fileSystemType',
      'storageType',
      'subnetIDs',
      'securityGroupIDs',
      'kmsKeyID',
      'backupID',
      'fileSystemID',
      'stripeCount',
      'stripeSize',
    ],
    validations: [
      ...crossFieldRules,
      ...LUSTRE_IMMUTABLE.map((f) => presenceFixed(`lustreConfiguration.${f}`)),
    ],
  },
);
export type FileSystemSpec = Infer<typeof fileSystemSpec>;
export type LustreConfiguration = NonNullable<FileSystemSpec['lustreConfiguration']>;

export const fileSystemStatus = obj('What the controller last saw of the file system.', {
  fileSystemID: str('The FSx file system ID.'),
  backend: backendStatusField,
  lifecycle: str(
    'The backend’s Lifecycle, verbatim (CREATING, AVAILABLE, UPDATING, DELETING, FAILED, MISCONFIGURED).',
  ),
  dnsName: str('DNS name clients mount.'),
  mountName: str('Lustre mount name (mount -t lustre <dnsName>@tcp:/<mountName>).'),
  storageCapacity: int('Current storage capacity in GiB.', { min: 0, max: 2147483647 }),
  deploymentType: str('Current deployment type.'),
  perUnitStorageThroughput: int('Current throughput per TiB.', { min: 0, max: 100000 }),
  fileSystemTypeVersion: str('Current Lustre version.'),
  resourceARN: str('The file system’s ARN.'),
  ownerID: str('The owning account.'),
  vpcID: str('The VPC of the file system.'),
  networkInterfaceIDs: list(str('A network interface.'), 'Network interfaces of the file system.'),
  failureDetails: failureDetailsField,
  dataRepository: obj('The S3 link of lustreConfiguration.importPath (FSx DataRepositoryConfiguration).', {
    lifecycle: str(
      'Its Lifecycle, verbatim (CREATING until the import at creation is done, AVAILABLE, MISCONFIGURED, UPDATING, DELETING, FAILED).',
    ),
    failureDetails: failureDetailsField,
  }),
  observedGeneration: observedGenerationField,
  conditions: conditionsField,
});
export type FileSystemStatus = Infer<typeof fileSystemStatus>;

export type FileSystem = Resource<'FileSystem', FileSystemSpec, FileSystemStatus>;

export const fileSystemCrd: CrdDefinition = {
  kind: 'FileSystem',
  plural: 'filesystems',
  shortNames: ['fsxfs'],
  description: 'An FSx for Lustre file system, on AWS or on Nacre’s emulated backend.',
  spec: fileSystemSpec,
  status: fileSystemStatus,
  specRequired: true,
  columns: [
    { name: 'ID', type: 'string', jsonPath: '.status.fileSystemID' },
    { name: 'Backend', type: 'string', jsonPath: '.status.backend' },
    { name: 'Type', type: 'string', jsonPath: '.spec.lustreConfiguration.deploymentType' },
    { name: 'Capacity', type: 'integer', jsonPath: '.status.storageCapacity' },
    { name: 'DNS', type: 'string', jsonPath: '.status.dnsName' },
    { name: 'Lifecycle', type: 'string', jsonPath: '.status.lifecycle' },
    conditionColumn('Ready', 'Ready'),
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
