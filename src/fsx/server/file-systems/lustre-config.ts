// Reading the LustreConfiguration members of CreateFileSystem / UpdateFileSystem requests against the API model.
import { type Input, RULES } from '../http/input.ts';
import { AUTO_IMPORT_POLICIES, DEPLOYMENT_TYPES, type DeploymentType, LOG_LEVELS } from '../model.ts';

export interface LogConfigInput {
  Level: string;
  Destination?: string;
}

export interface RootSquashInput {
  RootSquash?: string;
  NoSquashNids?: string[];
}

export interface MetadataInput {
  Iops?: number;
  Mode?: 'AUTOMATIC' | 'USER_PROVISIONED';
}

/** The members common to a create and an update. */
export interface LustreSettingsInput {
  WeeklyMaintenanceStartTime?: string;
  DailyAutomaticBackupStartTime?: string;
  AutomaticBackupRetentionDays?: number;
  AutoImportPolicy?: string;
  DataCompressionType?: 'NONE' | 'LZ4';
  LogConfiguration?: LogConfigInput;
  RootSquashConfiguration?: RootSquashInput;
  PerUnitStorageThroughput?: number;
  MetadataConfiguration?: MetadataInput;
  ThroughputCapacity?: number;
  DataReadCacheConfiguration?: boolean;
}

export interface LustreCreateInput extends LustreSettingsInput {
  DeploymentType?: DeploymentType;
  ImportPath?: string;
  ExportPath?: string;
  ImportedFileChunkSize?: number;
  CopyTagsToBackups?: boolean;
  DriveCacheType?: 'NONE' | 'READ';
  EfaEnabled?: boolean;
}

function setIf<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

function readLog(input: Input): LogConfigInput | undefined {
  const log = input.obj('LogConfiguration');
  if (!log) return undefined;
  const out: LogConfigInput = { Level: log.str('Level', { required: true, oneOf: LOG_LEVELS })! };
  setIf(out, 'Destination', log.str('Destination', RULES.logDestination));
  return out;
}

function readRootSquash(input: Input): RootSquashInput | undefined {
  const rs = input.obj('RootSquashConfiguration');
  if (!rs) return undefined;
  const out: RootSquashInput = {};
  setIf(out, 'RootSquash', rs.str('RootSquash', RULES.rootSquash));
  setIf(out, 'NoSquashNids', rs.strList('NoSquashNids', { maxItems: 64 }, RULES.lustreNid));
  return out;
}

function readMetadata(input: Input, modeRequired: boolean): MetadataInput | undefined {
  const md = input.obj('MetadataConfiguration');
  if (!md) return undefined;
  const out: MetadataInput = {};
  setIf(out, 'Iops', md.int('Iops', { min: 125, max: 2_147_483_647 }));
  setIf(
    out,
    'Mode',
    md.str('Mode', {
      required: modeRequired,
      oneOf: ['AUTOMATIC', 'USER_PROVISIONED'],
    }) as MetadataInput['Mode'],
  );
  return out;
}

function readSettings(input: Input, metadataModeRequired: boolean): LustreSettingsInput {
  const out: LustreSettingsInput = {};
  setIf(out, 'WeeklyMaintenanceStartTime', input.str('WeeklyMaintenanceStartTime', RULES.weeklyTime));
  setIf(out, 'DailyAutomaticBackupStartTime', input.str('DailyAutomaticBackupStartTime', RULES.dailyTime));
  setIf(out, 'AutomaticBackupRetentionDays', input.int('AutomaticBackupRetentionDays', { min: 0, max: 90 }));
  setIf(out, 'AutoImportPolicy', input.str('AutoImportPolicy', { oneOf: AUTO_IMPORT_POLICIES }));
  setIf(
    out,
    'DataCompressionType',
    input.str('DataCompressionType', { oneOf: ['NONE', 'LZ4'] }) as 'NONE' | 'LZ4' | undefined,
  );
  setIf(out, 'LogConfiguration', readLog(input));
  setIf(out, 'RootSquashConfiguration', readRootSquash(input));
  setIf(out, 'PerUnitStorageThroughput', input.int('PerUnitStorageThroughput', { min: 12, max: 1000 }));
  setIf(out, 'MetadataConfiguration', readMetadata(input, metadataModeRequired));
  setIf(out, 'ThroughputCapacity', input.int('ThroughputCapacity', { min: 0 }));
  if (input.has('DataReadCacheConfiguration')) {
    input.obj('DataReadCacheConfiguration');
    out.DataReadCacheConfiguration = true;
  }
  return out;
}

/** CreateFileSystemLustreConfiguration (also used by CreateFileSystemFromBackup). */
export function readLustreCreate(input: Input | undefined): LustreCreateInput {
  if (!input) return {};
  const out: LustreCreateInput = readSettings(input, true);
  setIf(out, 'DeploymentType', input.str('DeploymentType', { oneOf: DEPLOYMENT_TYPES }) as DeploymentType);
  setIf(out, 'ImportPath', input.str('ImportPath', RULES.archivePath));
  setIf(out, 'ExportPath', input.str('ExportPath', RULES.archivePath));
  setIf(out, 'ImportedFileChunkSize', input.int('ImportedFileChunkSize', { min: 1, max: 512_000 }));
  setIf(out, 'CopyTagsToBackups', input.bool('CopyTagsToBackups'));
  setIf(out, 'DriveCacheType', input.str('DriveCacheType', { oneOf: ['NONE', 'READ'] }) as 'NONE' | 'READ');
  setIf(out, 'EfaEnabled', input.bool('EfaEnabled'));
  return out;
}

/** UpdateFileSystemLustreConfiguration. */
export function readLustreUpdate(input: Input | undefined): LustreSettingsInput {
  return input ? readSettings(input, false) : {};
}
