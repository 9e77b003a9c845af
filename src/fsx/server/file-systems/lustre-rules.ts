// FSx for Lustre's rules for a file system's settings: capacity steps, throughput tiers, combinations that are required or forbidden.
import { badRequest, incompatibleParameter, invalidThroughput, unsupported } from '../http/api-error.ts';
import type { DeploymentType, FileSystem, StorageType } from '../model.ts';
import { parseS3Path } from '../repository-rules.ts';
import type {
  LogConfigInput,
  LustreCreateInput,
  LustreSettingsInput,
  MetadataInput,
  RootSquashInput,
} from './lustre-config.ts';

const THROUGHPUT: Record<string, readonly number[]> = {
  'PERSISTENT_1/SSD': [50, 100, 200],
  'PERSISTENT_1/HDD': [12, 40],
  'PERSISTENT_2/SSD': [125, 250, 500, 1000],
};

export const LUSTRE_VERSIONS = ['2.10', '2.12', '2.15'] as const;

function isScratch(d: DeploymentType): boolean {
  return d === 'SCRATCH_1' || d === 'SCRATCH_2';
}

/** Valid PerUnitStorageThroughput for a deployment and storage type; undefined when it does not apply. */
export function checkThroughput(d: DeploymentType, storage: StorageType, pust: number | undefined): void {
  if (isScratch(d)) {
    if (pust !== undefined)
      throw invalidThroughput(
        `PerUnitStorageThroughput is only supported for PERSISTENT_1 and PERSISTENT_2 deployment types, not ${d}.`,
      );
    return;
  }
  const allowed = THROUGHPUT[`${d}/${storage}`] ?? [];
  if (pust === undefined)
    throw invalidThroughput(`PerUnitStorageThroughput is required for the ${d} deployment type.`);
  if (!allowed.includes(pust))
    throw invalidThroughput(
      `Invalid PerUnitStorageThroughput ${pust} MB/s/TiB for ${d} ${storage} storage; valid values are ${allowed.join(', ')}.`,
    );
}

/** The capacity steps of a deployment, as FSx documents them. */
function capacityRule(d: DeploymentType, storage: StorageType, pust: number | undefined) {
  if (storage === 'HDD') {
    const step = pust === 12 ? 6000 : 1800;
    return { ok: (c: number) => c > 0 && c % step === 0, text: `increments of ${step} GiB`, step };
  }
  if (d === 'SCRATCH_1')
    return {
      ok: (c: number) => c === 1200 || c === 2400 || (c > 0 && c % 3600 === 0),
      text: '1200 GiB, 2400 GiB, and increments of 3600 GiB',
      step: 3600,
    };
  return {
    ok: (c: number) => c === 1200 || (c > 0 && c % 2400 === 0),
    text: '1200 GiB, 2400 GiB, and increments of 2400 GiB',
    step: 2400,
  };
}

export function checkCapacity(
  d: DeploymentType,
  storage: StorageType,
  pust: number | undefined,
  c: number,
): void {
  const rule = capacityRule(d, storage, pust);
  if (!rule.ok(c))
    throw badRequest(
      `Invalid StorageCapacity ${c} GiB: for ${d} ${storage}${storage === 'HDD' ? ` ${pust} MB/s/TiB` : ''} file systems, valid values are ${rule.text}.`,
    );
}

function checkMetadata(d: DeploymentType, md: MetadataInput | undefined): void {
  if (!md) return;
  if (d !== 'PERSISTENT_2')
    throw incompatibleParameter(
      'MetadataConfiguration',
      `MetadataConfiguration is only supported for the PERSISTENT_2 deployment type, not ${d}.`,
    );
  if (md.Mode === 'AUTOMATIC' && md.Iops !== undefined)
    throw badRequest('Iops cannot be specified when the metadata configuration Mode is AUTOMATIC.');
  if (md.Mode === 'USER_PROVISIONED' && md.Iops === undefined)
    throw badRequest('Iops is required when the metadata configuration Mode is USER_PROVISIONED.');
  if (md.Iops !== undefined && !validIops(md.Iops))
    throw badRequest(
      `Invalid metadata Iops ${md.Iops}: valid values are 1500, 3000, 6000, 12000 and multiples of 12000 up to 192000.`,
    );
}

function validIops(iops: number): boolean {
  return [1500, 3000, 6000].includes(iops) || (iops % 12000 === 0 && iops >= 12000 && iops <= 192000);
}

/** Metadata IOPS FSx provisions in AUTOMATIC mode for an SSD file system of `capacity` GiB. */
export function automaticIops(capacity: number): number {
  if (capacity <= 1200) return 1500;
  if (capacity <= 2400) return 3000;
  if (capacity <= 9600) return 6000;
  return Math.min(192000, 12000 * Math.ceil(capacity / 24000));
}

export function checkLog(log: LogConfigInput | undefined, region: string, accountId: string): void {
  if (!log?.Destination) return;
  if (log.Level === 'DISABLED')
    throw badRequest('A LogConfiguration Destination cannot be specified when Level is DISABLED.');
  const prefix = `arn:aws:logs:${region}:${accountId}:log-group:/aws/fsx`;
  if (!log.Destination.startsWith(prefix))
    throw badRequest(
      `Invalid LogConfiguration Destination: it must be a CloudWatch Logs log group ARN in ${region}, account ${accountId}, whose name begins with /aws/fsx.`,
    );
}

export function checkRootSquash(rs: RootSquashInput | undefined): void {
  if (!rs) return;
  const m = rs.RootSquash ? /^(\d+):(\d+)$/.exec(rs.RootSquash) : null;
  const uid = m ? Number(m[1]) : 0;
  const gid = m ? Number(m[2]) : 0;
  if (uid > 4294967294 || gid > 4294967294)
    throw badRequest('RootSquash UID and GID must be between 0 and 4294967294.');
  if ((uid === 0) !== (gid === 0))
    throw badRequest('RootSquash must be 0:0 (disabled) or a non-zero UID and a non-zero GID.');
  if (rs.NoSquashNids?.length && uid === 0)
    throw badRequest('NoSquashNids can only be specified when root squash is enabled.');
}

function checkBackupSettings(
  d: DeploymentType,
  s: LustreSettingsInput & { CopyTagsToBackups?: boolean },
): void {
  if (!isScratch(d)) return;
  if ((s.AutomaticBackupRetentionDays ?? 0) > 0 || s.DailyAutomaticBackupStartTime || s.CopyTagsToBackups)
    throw badRequest(`Automatic backups are not supported for the ${d} deployment type.`);
}

function checkDataRepository(d: DeploymentType, c: LustreCreateInput, linkable: boolean): void {
  const linked =
    c.ImportPath !== undefined || c.ExportPath !== undefined || c.ImportedFileChunkSize !== undefined;
  if (d === 'PERSISTENT_2' && (linked || (c.AutoImportPolicy && c.AutoImportPolicy !== 'NONE')))
    throw badRequest(
      'ImportPath, ExportPath, ImportedFileChunkSize and AutoImportPolicy are not supported for PERSISTENT_2; use a data repository association.',
    );
  if (c.ExportPath !== undefined && c.ImportPath === undefined)
    throw badRequest('ExportPath requires ImportPath.');
  if (c.AutoImportPolicy && c.AutoImportPolicy !== 'NONE' && c.ImportPath === undefined)
    throw badRequest('AutoImportPolicy requires ImportPath.');
  if (!linked) return;
  if (!linkable)
    throw unsupported(
      'This Nacre FSx emulator has no S3 data repository configured (ImportPath, ExportPath); start it with --s3-endpoint.',
    );
  if (c.ImportPath === undefined) return;
  const imp = parseS3Path(c.ImportPath, 'ImportPath');
  if (c.ExportPath !== undefined && parseS3Path(c.ExportPath, 'ExportPath').bucket !== imp.bucket)
    throw badRequest('The ExportPath must be in the same S3 bucket as the ImportPath.');
}

export interface CreateSettings {
  StorageCapacity: number | undefined;
  StorageType: StorageType;
  KmsKeyId: string | undefined;
  FileSystemTypeVersion: string | undefined;
  lustre: LustreCreateInput;
  region: string;
  accountId: string;
  /** Whether the emulator can link S3 (legacy ImportPath/ExportPath); otherwise they are UnsupportedOperation. */
  linkable?: boolean;
}

/** Every rule of a new Lustre file system's settings. Returns the deployment type and Lustre version to use. */
export function checkCreate(s: CreateSettings): { deployment: DeploymentType; version: string } {
  const c = s.lustre;
  const d = c.DeploymentType ?? 'SCRATCH_1';
  if (
    s.StorageType === 'INTELLIGENT_TIERING' ||
    c.ThroughputCapacity !== undefined ||
    c.DataReadCacheConfiguration
  )
    throw unsupported('The INTELLIGENT_TIERING storage class is not supported by the Nacre FSx emulator.');
  if (s.StorageType === 'HDD' && d !== 'PERSISTENT_1')
    throw incompatibleParameter('StorageType', `HDD storage is only supported for PERSISTENT_1, not ${d}.`);
  if (s.StorageType === 'HDD' && c.DriveCacheType === undefined)
    throw badRequest('DriveCacheType is required when StorageType is HDD.');
  if (s.StorageType !== 'HDD' && c.DriveCacheType !== undefined)
    throw incompatibleParameter(
      'DriveCacheType',
      'DriveCacheType can only be specified when StorageType is HDD.',
    );
  checkThroughput(d, s.StorageType, c.PerUnitStorageThroughput);
  if (s.StorageCapacity === undefined)
    throw badRequest('StorageCapacity is required for Lustre file systems.');
  checkCapacity(d, s.StorageType, c.PerUnitStorageThroughput, s.StorageCapacity);
  if (s.KmsKeyId !== undefined && isScratch(d))
    throw incompatibleParameter(
      'KmsKeyId',
      `KmsKeyId is only supported for PERSISTENT deployment types, not ${d}.`,
    );
  checkBackupSettings(d, c);
  checkMetadata(d, c.MetadataConfiguration);
  if (c.EfaEnabled && (d !== 'PERSISTENT_2' || !c.MetadataConfiguration))
    throw badRequest('EfaEnabled requires the PERSISTENT_2 deployment type with a MetadataConfiguration.');
  checkLog(c.LogConfiguration, s.region, s.accountId);
  checkRootSquash(c.RootSquashConfiguration);
  checkDataRepository(d, c, s.linkable ?? false);
  return { deployment: d, version: checkVersion(d, s.FileSystemTypeVersion, c.MetadataConfiguration) };
}

function checkVersion(d: DeploymentType, v: string | undefined, md: MetadataInput | undefined): string {
  const version = v ?? (d === 'PERSISTENT_2' ? (md ? '2.15' : '2.12') : '2.10');
  if (!(LUSTRE_VERSIONS as readonly string[]).includes(version))
    throw badRequest(
      `Invalid FileSystemTypeVersion ${version}: valid values are ${LUSTRE_VERSIONS.join(', ')}.`,
    );
  if (d === 'PERSISTENT_2' && version === '2.10')
    throw badRequest('FileSystemTypeVersion 2.10 is not supported for the PERSISTENT_2 deployment type.');
  if (d === 'PERSISTENT_2' && md && version === '2.12')
    throw badRequest(
      'FileSystemTypeVersion 2.12 is not supported for PERSISTENT_2 with a metadata configuration.',
    );
  return version;
}

export interface UpdateSettings {
  StorageCapacity: number | undefined;
  FileSystemTypeVersion: string | undefined;
  lustre: LustreSettingsInput;
}

/** Every rule of an update to `fs` (which must be AVAILABLE). */
export function checkUpdate(fs: FileSystem, u: UpdateSettings, region: string, accountId: string): void {
  const lc = fs.LustreConfiguration;
  const d = lc.DeploymentType;
  const l = u.lustre;
  if (l.ThroughputCapacity !== undefined || l.DataReadCacheConfiguration)
    throw incompatibleParameter(
      l.ThroughputCapacity !== undefined ? 'ThroughputCapacity' : 'DataReadCacheConfiguration',
      'ThroughputCapacity and DataReadCacheConfiguration only apply to INTELLIGENT_TIERING file systems.',
    );
  if (u.StorageCapacity !== undefined) {
    if (d === 'SCRATCH_1')
      throw badRequest("You can't increase the storage capacity of a SCRATCH_1 file system.");
    if (u.StorageCapacity <= fs.StorageCapacity)
      throw badRequest(
        `The new StorageCapacity (${u.StorageCapacity} GiB) must be greater than the current storage capacity (${fs.StorageCapacity} GiB).`,
      );
    const rule = capacityRule(d, fs.StorageType, lc.PerUnitStorageThroughput);
    if (u.StorageCapacity % rule.step !== 0)
      throw badRequest(
        `Invalid StorageCapacity ${u.StorageCapacity} GiB: the value must be a multiple of ${rule.step} GiB.`,
      );
  }
  if (l.PerUnitStorageThroughput !== undefined) {
    if (isScratch(d) || fs.StorageType !== 'SSD')
      throw invalidThroughput('PerUnitStorageThroughput can only be updated on PERSISTENT SSD file systems.');
    checkThroughput(d, fs.StorageType, l.PerUnitStorageThroughput);
  }
  checkBackupSettings(d, l);
  checkUpdateMetadata(fs, l.MetadataConfiguration);
  if (l.AutoImportPolicy !== undefined && l.AutoImportPolicy !== 'NONE')
    throw badRequest(
      'AutoImportPolicy can only be set on a file system linked to an S3 bucket with ImportPath.',
    );
  checkLog(l.LogConfiguration, region, accountId);
  checkRootSquash(l.RootSquashConfiguration);
  if (u.FileSystemTypeVersion !== undefined) checkVersionUpgrade(fs, u.FileSystemTypeVersion);
}

function checkUpdateMetadata(fs: FileSystem, md: MetadataInput | undefined): void {
  if (!md) return;
  const d = fs.LustreConfiguration.DeploymentType;
  if (d !== 'PERSISTENT_2')
    throw incompatibleParameter(
      'MetadataConfiguration',
      `MetadataConfiguration is only supported for PERSISTENT_2, not ${d}.`,
    );
  const mode = md.Mode ?? fs.LustreConfiguration.MetadataConfiguration?.Mode ?? 'AUTOMATIC';
  checkMetadata(d, { ...md, Mode: mode });
  const current = fs.LustreConfiguration.MetadataConfiguration?.Iops ?? automaticIops(fs.StorageCapacity);
  const next = mode === 'AUTOMATIC' ? automaticIops(fs.StorageCapacity) : (md.Iops ?? current);
  if (next < current)
    throw badRequest(`Metadata Iops can only be increased: ${next} is less than the current ${current}.`);
}

function checkVersionUpgrade(fs: FileSystem, v: string): void {
  if (!(LUSTRE_VERSIONS as readonly string[]).includes(v))
    throw badRequest(`Invalid FileSystemTypeVersion ${v}: valid values are ${LUSTRE_VERSIONS.join(', ')}.`);
  if (Number.parseFloat(v) <= Number.parseFloat(fs.FileSystemTypeVersion))
    throw badRequest(
      `FileSystemTypeVersion can only be upgraded: ${v} is not newer than the current ${fs.FileSystemTypeVersion}.`,
    );
}
