// StorageClass parameters → what CreateVolume makes: a FileSystem spec per volume, or a directory on a shared FileSystem.
import type { Backend, FileSystemSpec, LustreConfiguration } from '../../api/index.ts';
import { invalidArgument } from '../csi-error.ts';
import { type AssociationParams, parseS3Link, S3_KEYS } from './s3-parameters.ts';

/** What happens to a sub-directory volume's data when its PV is deleted. */
export type OnDelete = 'delete' | 'retain' | 'archive';

export interface FsVolumeParams {
  mode: 'fs';
  /** The FileSystem spec the parameters ask for, without storageCapacity and backupID. */
  spec: FileSystemSpec;
  /** A DataRepositoryAssociation to create with the file system (S3 parameters on PERSISTENT_2). */
  association?: AssociationParams;
}

export interface DirVolumeParams {
  mode: 'dir';
  /** The shared FileSystem resource. */
  fileSystemName: string;
  fileSystemNamespace?: string;
  stripeCount?: number;
  stripeSize?: number;
  onDelete: OnDelete;
}

export type VolumeParams = FsVolumeParams | DirVolumeParams;

/** Keys the external-provisioner adds (`--extra-create-metadata`) or reserves: accepted and not used. */
const RESERVED_PREFIX = 'csi.storage.k8s.io/';

/** Parameters as kubernetes-sigs/aws-fsx-csi-driver spells them: they shape the file system made per volume. */
const FS_KEYS = [
  'deploymentType',
  'storageType',
  'perUnitStorageThroughput',
  'subnetId',
  'securityGroupIds',
  'kmsKeyId',
  'driveCacheType',
  'dataCompressionType',
  'automaticBackupRetentionDays',
  'dailyAutomaticBackupStartTime',
  'copyTagsToBackups',
  'weeklyMaintenanceStartTime',
  'fileSystemTypeVersion',
  'extraTags',
  'efaEnabled',
  'metadataConfigurationMode',
  'metadataIops',
  ...S3_KEYS,
] as const;
/** Nacre's own. */
const NACRE_KEYS = [
  'backend',
  'fileSystemName',
  'fileSystemNamespace',
  'stripeCount',
  'stripeSize',
  'onDelete',
];
const DIR_ONLY = new Set(['fileSystemName', 'fileSystemNamespace', 'onDelete']);
const KNOWN = new Set<string>([...FS_KEYS, ...NACRE_KEYS]);

function int(key: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) {
    throw invalidArgument(`parameter ${key}="${value}" must be an integer from ${min} to ${max}`);
  }
  return n;
}

function bool(key: string, value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw invalidArgument(`parameter ${key}="${value}" must be true or false`);
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** "key1=value1,key2=value2" (aws-fsx-csi-driver's extraTags). */
function tags(value: string): Array<{ key: string; value: string }> {
  return list(value).map((pair) => {
    const i = pair.indexOf('=');
    if (i <= 0) throw invalidArgument(`parameter extraTags: "${pair}" is not key=value`);
    return { key: pair.slice(0, i), value: pair.slice(i + 1) };
  });
}

function stripeSize(value: string): number {
  const n = int('stripeSize', value, 65536, 4 * 1024 ** 3);
  if (n % 65536 !== 0)
    throw invalidArgument(`parameter stripeSize=${value} must be a multiple of 65536 (64 KiB)`);
  return n;
}

function backend(value: string): Backend {
  if (value === 'aws' || value === 'emulated') return value;
  throw invalidArgument(`parameter backend="${value}" must be aws or emulated`);
}

function fsSpec(p: Record<string, string>): FileSystemSpec {
  const spec: FileSystemSpec = {};
  const lc: LustreConfiguration = {};
  for (const [key, value] of Object.entries(p)) {
    switch (key) {
      case 'backend':
        spec.backend = backend(value);
        break;
      case 'stripeCount':
        spec.stripeCount = int(key, value, -1, 2000);
        break;
      case 'stripeSize':
        spec.stripeSize = stripeSize(value);
        break;
      case 'deploymentType':
        lc.deploymentType = value as NonNullable<LustreConfiguration['deploymentType']>;
        break;
      case 'storageType':
        spec.storageType = value as NonNullable<FileSystemSpec['storageType']>;
        break;
      case 'perUnitStorageThroughput':
        lc.perUnitStorageThroughput = int(key, value, 1, 100000);
        break;
      case 'subnetId':
        spec.subnetIDs = [value];
        break;
      case 'securityGroupIds':
        spec.securityGroupIDs = list(value);
        break;
      case 'kmsKeyId':
        spec.kmsKeyID = value;
        break;
      case 'driveCacheType':
        lc.driveCacheType = value as NonNullable<LustreConfiguration['driveCacheType']>;
        break;
      case 'dataCompressionType':
        lc.dataCompressionType = value as NonNullable<LustreConfiguration['dataCompressionType']>;
        break;
      case 'automaticBackupRetentionDays':
        lc.automaticBackupRetentionDays = int(key, value, 0, 90);
        break;
      case 'dailyAutomaticBackupStartTime':
        lc.dailyAutomaticBackupStartTime = value;
        break;
      case 'copyTagsToBackups':
        lc.copyTagsToBackups = bool(key, value);
        break;
      case 'weeklyMaintenanceStartTime':
        lc.weeklyMaintenanceStartTime = value;
        break;
      case 'fileSystemTypeVersion':
        spec.fileSystemTypeVersion = value;
        break;
      case 'extraTags':
        spec.tags = tags(value);
        break;
      case 'efaEnabled':
        lc.efaEnabled = bool(key, value);
        break;
      case 'metadataConfigurationMode':
        lc.metadataConfiguration = {
          ...lc.metadataConfiguration,
          mode: value as NonNullable<LustreConfiguration['metadataConfiguration']>['mode'],
        };
        break;
      case 'metadataIops':
        lc.metadataConfiguration = {
          mode: lc.metadataConfiguration?.mode ?? 'USER_PROVISIONED',
          iops: int(key, value, 1500, 192000),
        };
        break;
    }
  }
  if (Object.keys(lc).length > 0) spec.lustreConfiguration = lc;
  return spec;
}

function fsParams(p: Record<string, string>): FsVolumeParams {
  const spec = fsSpec(p);
  const link = parseS3Link(p, spec.lustreConfiguration?.deploymentType);
  if (link?.legacy) spec.lustreConfiguration = { ...spec.lustreConfiguration, ...link.legacy };
  return link?.association ? { mode: 'fs', spec, association: link.association } : { mode: 'fs', spec };
}

/**
 * Reads CreateVolume's parameters. InvalidArgument names an unknown parameter, a malformed value,
 * or a parameter that does not apply to the mode (`fileSystemName` chooses sub-directory volumes).
 * Enumerated values (deploymentType, …) are checked by the FileSystem resource's schema on create.
 */
export function parseVolumeParams(parameters: Record<string, string>): VolumeParams {
  const p: Record<string, string> = {};
  for (const [key, value] of Object.entries(parameters)) {
    if (key.startsWith(RESERVED_PREFIX)) continue;
    if (!KNOWN.has(key)) {
      throw invalidArgument(
        `unknown StorageClass parameter "${key}": Nacre accepts ${[...FS_KEYS, ...NACRE_KEYS].join(', ')}`,
      );
    }
    p[key] = value;
  }
  const name = p['fileSystemName'];
  if (name === undefined) {
    const wrong = Object.keys(p).find((k) => DIR_ONLY.has(k));
    if (wrong)
      throw invalidArgument(`parameter ${wrong} applies only to sub-directory volumes (set fileSystemName)`);
    return fsParams(p);
  }
  const wrong = Object.keys(p).find((k) => (FS_KEYS as readonly string[]).includes(k) || k === 'backend');
  if (wrong) {
    throw invalidArgument(
      `parameter ${wrong} shapes a file system made per volume; with fileSystemName the volume is a directory on that existing file system: remove ${wrong}`,
    );
  }
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name)) {
    throw invalidArgument(`parameter fileSystemName="${name}" is not a FileSystem resource name`);
  }
  const onDelete = p['onDelete'] ?? 'delete';
  if (onDelete !== 'delete' && onDelete !== 'retain' && onDelete !== 'archive') {
    throw invalidArgument(`parameter onDelete="${onDelete}" must be delete, retain or archive`);
  }
  const out: DirVolumeParams = { mode: 'dir', fileSystemName: name, onDelete };
  if (p['fileSystemNamespace'] !== undefined) out.fileSystemNamespace = p['fileSystemNamespace'];
  if (p['stripeCount'] !== undefined) out.stripeCount = int('stripeCount', p['stripeCount'], -1, 2000);
  if (p['stripeSize'] !== undefined) out.stripeSize = stripeSize(p['stripeSize']);
  return out;
}
