// Translation between the spec's camelCase shapes and the FSx SDK's request and response shapes, both ways.
import type {
  CreateDataRepositoryAssociationRequest,
  CreateDataRepositoryTaskRequest,
  CreateFileSystemFromBackupRequest,
  CreateFileSystemLustreConfiguration,
  CreateFileSystemRequest,
  DataRepositoryAssociation as SdkAssociation,
  Backup as SdkBackup,
  FileSystem as SdkFileSystem,
  Tag as SdkTag,
  DataRepositoryTask as SdkTask,
  UpdateFileSystemRequest,
} from '@aws-sdk/client-fsx';
import type {
  DataRepositoryAssociationSpec,
  DataRepositoryTaskSpec,
  LustreConfiguration,
  Tag,
} from '../api/index.ts';
import type {
  AssociationInfo,
  BackupInfo,
  FileSystemCreate,
  FileSystemInfo,
  FileSystemUpdate,
  TaskInfo,
} from './backend.ts';

/** The same value with every object key's first letter upper-cased (the spec's nested names are FSx's, camelCased). */
export function pascalKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pascalKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v !== undefined) out[k.charAt(0).toUpperCase() + k.slice(1)] = pascalKeys(v);
  }
  return out;
}

/** The inverse of pascalKeys. */
export function camelKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v !== undefined) out[k.charAt(0).toLowerCase() + k.slice(1)] = camelKeys(v);
  }
  return out;
}

export function tagsToSdk(tags: readonly Tag[]): SdkTag[] {
  return tags.map((t) => ({ Key: t.key, Value: t.value ?? '' }));
}

export function tagsFromSdk(tags: readonly SdkTag[] | undefined): Tag[] {
  return (tags ?? []).map((t) => ({ key: t.Key ?? '', value: t.Value ?? '' }));
}

/** spec.tags then extra tags, a later key replacing an earlier one. */
function mergedTags(spec: readonly Tag[] | undefined, extra: readonly Tag[]): SdkTag[] {
  const byKey = new Map<string, Tag>();
  for (const t of [...(spec ?? []), ...extra]) byKey.set(t.key, t);
  return tagsToSdk([...byKey.values()]);
}

function lustreToSdk(lc: LustreConfiguration | undefined): CreateFileSystemLustreConfiguration | undefined {
  return lc === undefined ? undefined : (pascalKeys(lc) as CreateFileSystemLustreConfiguration);
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** The CreateFileSystem request for a spec. */
export function createFileSystemRequest(
  req: FileSystemCreate,
  defaultSubnetId?: string,
): CreateFileSystemRequest {
  const s = req.spec;
  const subnets = s.subnetIDs ?? (defaultSubnetId ? [defaultSubnetId] : []);
  return {
    ClientRequestToken: req.clientRequestToken,
    FileSystemType: 'LUSTRE',
    SubnetIds: subnets,
    Tags: mergedTags(s.tags, req.extraTags),
    ...optional('StorageCapacity', s.storageCapacity),
    ...optional('StorageType', s.storageType),
    ...optional('SecurityGroupIds', s.securityGroupIDs),
    ...optional('KmsKeyId', s.kmsKeyID),
    ...optional('FileSystemTypeVersion', s.fileSystemTypeVersion),
    ...optional('LustreConfiguration', lustreToSdk(s.lustreConfiguration)),
  };
}

/** The CreateFileSystemFromBackup request for a spec with backupID. */
export function createFromBackupRequest(
  req: FileSystemCreate,
  defaultSubnetId?: string,
): CreateFileSystemFromBackupRequest {
  const { FileSystemType: _type, ...rest } = createFileSystemRequest(req, defaultSubnetId);
  return { ...rest, BackupId: req.spec.backupID };
}

export function updateFileSystemRequest(
  id: string,
  u: FileSystemUpdate,
  token: string,
): UpdateFileSystemRequest {
  return {
    FileSystemId: id,
    ClientRequestToken: token,
    ...optional('StorageCapacity', u.storageCapacity),
    ...optional('FileSystemTypeVersion', u.fileSystemTypeVersion),
    ...(u.lustreConfiguration && Object.keys(u.lustreConfiguration).length > 0
      ? {
          LustreConfiguration: pascalKeys(
            u.lustreConfiguration,
          ) as UpdateFileSystemRequest['LustreConfiguration'],
        }
      : {}),
  };
}

const iso = (d: Date | undefined) => (d instanceof Date ? d.toISOString() : undefined);

/** Drops undefined members so results compare and serialise cleanly. */
function defined<T extends object>(o: { [K in keyof T]: T[K] | undefined }): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function lustreFromSdk(fs: SdkFileSystem): Partial<LustreConfiguration> {
  const l = fs.LustreConfiguration ?? {};
  const { MountName: _m, DataRepositoryConfiguration: drc, ...settings } = l;
  const lustre = camelKeys(settings) as Partial<LustreConfiguration>;
  if (drc?.AutoImportPolicy) lustre.autoImportPolicy = drc.AutoImportPolicy;
  if (drc?.ImportPath) lustre.importPath = drc.ImportPath;
  if (drc?.ExportPath) lustre.exportPath = drc.ExportPath;
  if (drc?.ImportedFileChunkSize) lustre.importedFileChunkSize = drc.ImportedFileChunkSize;
  return lustre;
}

function dataRepositoryFromSdk(fs: SdkFileSystem): FileSystemInfo['dataRepository'] {
  const drc = fs.LustreConfiguration?.DataRepositoryConfiguration;
  if (!drc?.Lifecycle) return undefined;
  return defined({ lifecycle: drc.Lifecycle, failureMessage: drc.FailureDetails?.Message });
}

export function fileSystemInfo(fs: SdkFileSystem): FileSystemInfo {
  const updates = (fs.AdministrativeActions ?? []).filter(
    (a) => a.AdministrativeActionType === 'FILE_SYSTEM_UPDATE',
  );
  const last = updates.at(-1);
  return defined<FileSystemInfo>({
    fileSystemId: fs.FileSystemId ?? '',
    lifecycle: fs.Lifecycle ?? 'UNKNOWN',
    failureMessage: fs.FailureDetails?.Message,
    dnsName: fs.DNSName,
    mountName: fs.LustreConfiguration?.MountName,
    storageCapacity: fs.StorageCapacity,
    storageType: fs.StorageType,
    fileSystemTypeVersion: fs.FileSystemTypeVersion,
    resourceARN: fs.ResourceARN,
    ownerId: fs.OwnerId,
    vpcId: fs.VpcId,
    networkInterfaceIds: fs.NetworkInterfaceIds,
    tags: tagsFromSdk(fs.Tags),
    lustre: lustreFromSdk(fs),
    updatePending: updates.some((a) => a.Status === 'PENDING' || a.Status === 'IN_PROGRESS'),
    updateFailure:
      last?.Status === 'FAILED' ? (last.FailureDetails?.Message ?? 'the update failed') : undefined,
    dataRepository: dataRepositoryFromSdk(fs),
  });
}

export function backupInfo(b: SdkBackup): BackupInfo {
  return defined<BackupInfo>({
    backupId: b.BackupId ?? '',
    lifecycle: b.Lifecycle ?? 'UNKNOWN',
    fileSystemId: b.FileSystem?.FileSystemId,
    failureMessage: b.FailureDetails?.Message,
    progressPercent: b.ProgressPercent,
    type: b.Type,
    creationTime: iso(b.CreationTime),
    resourceARN: b.ResourceARN,
  });
}

export function createAssociationRequest(
  fileSystemId: string,
  spec: DataRepositoryAssociationSpec,
  token: string,
): CreateDataRepositoryAssociationRequest {
  return {
    FileSystemId: fileSystemId,
    DataRepositoryPath: spec.dataRepositoryPath,
    ClientRequestToken: token,
    ...optional('FileSystemPath', spec.fileSystemPath),
    ...optional('BatchImportMetaDataOnCreate', spec.batchImportMetaDataOnCreate),
    ...optional('ImportedFileChunkSize', spec.importedFileChunkSize),
    ...(spec.s3 ? { S3: pascalKeys(spec.s3) as CreateDataRepositoryAssociationRequest['S3'] } : {}),
    ...(spec.tags?.length ? { Tags: tagsToSdk(spec.tags) } : {}),
  };
}

export function associationInfo(a: SdkAssociation): AssociationInfo {
  return defined<AssociationInfo>({
    associationId: a.AssociationId ?? '',
    lifecycle: a.Lifecycle ?? 'UNKNOWN',
    fileSystemId: a.FileSystemId,
    failureMessage: a.FailureDetails?.Message,
    resourceARN: a.ResourceARN,
    importedFileChunkSize: a.ImportedFileChunkSize,
    s3: a.S3 ? (camelKeys(a.S3) as AssociationInfo['s3']) : undefined,
  });
}

export function createTaskRequest(
  fileSystemId: string,
  spec: DataRepositoryTaskSpec,
  token: string,
): CreateDataRepositoryTaskRequest {
  return {
    FileSystemId: fileSystemId,
    Type: spec.type,
    Report: pascalKeys(spec.report) as CreateDataRepositoryTaskRequest['Report'],
    ClientRequestToken: token,
    ...optional('Paths', spec.paths),
    ...optional('CapacityToRelease', spec.capacityToRelease),
    ...(spec.releaseConfiguration
      ? {
          ReleaseConfiguration: pascalKeys(
            spec.releaseConfiguration,
          ) as CreateDataRepositoryTaskRequest['ReleaseConfiguration'],
        }
      : {}),
    ...(spec.tags?.length ? { Tags: tagsToSdk(spec.tags) } : {}),
  };
}

export function taskInfo(t: SdkTask): TaskInfo {
  return defined<TaskInfo>({
    taskId: t.TaskId ?? '',
    lifecycle: t.Lifecycle ?? 'UNKNOWN',
    fileSystemId: t.FileSystemId,
    failureMessage: t.FailureDetails?.Message,
    startTime: iso(t.StartTime),
    endTime: iso(t.EndTime),
    totalCount: t.Status?.TotalCount,
    succeededCount: t.Status?.SucceededCount,
    failedCount: t.Status?.FailedCount,
    releasedCapacity: t.Status?.ReleasedCapacity,
    lastUpdatedTime: iso(t.Status?.LastUpdatedTime),
    resourceARN: t.ResourceARN,
  });
}
