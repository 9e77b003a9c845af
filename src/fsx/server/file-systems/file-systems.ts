// Building and finding file system records: the FSx description of a new Lustre file system, quotas, lookups, sort keys.

import type { ApiContext } from '../context.ts';
import { badRequest, fileSystemNotFound, serviceLimit } from '../http/api-error.ts';
import type { Tag } from '../http/input.ts';
import { defaultDailyTime, defaultWeeklyTime, fileSystemArn, newId, newMountName, vpcOf } from '../ids.ts';
import type {
  DeploymentType,
  FileSystem,
  FileSystemRecord,
  LustreConfiguration,
  StorageType,
} from '../model.ts';
import type { LogConfigInput, LustreCreateInput } from './lustre-config.ts';
import { automaticIops } from './lustre-rules.ts';

export interface NewFileSystem {
  StorageCapacity: number;
  StorageType: StorageType;
  SubnetIds: string[];
  KmsKeyId: string | undefined;
  Tags: Tag[];
  FileSystemTypeVersion: string;
  DeploymentType: DeploymentType;
  lustre: LustreCreateInput;
}

function logConfiguration(
  ctx: ApiContext,
  log: LogConfigInput | undefined,
): LustreConfiguration['LogConfiguration'] {
  if (!log || log.Level === 'DISABLED') return { Level: 'DISABLED' };
  return {
    Level: log.Level,
    Destination: log.Destination ?? `arn:aws:logs:${ctx.region}:${ctx.accountId}:log-group:/aws/fsx/lustre`,
  };
}

function lustreConfiguration(ctx: ApiContext, id: string, n: NewFileSystem): LustreConfiguration {
  const l = n.lustre;
  const d = n.DeploymentType;
  const persistent = d.startsWith('PERSISTENT');
  const retention = l.AutomaticBackupRetentionDays ?? 0;
  const taken = new Set(
    Object.values(ctx.store.state.fileSystems).map((r) => r.fs.LustreConfiguration.MountName),
  );
  const c: LustreConfiguration = {
    WeeklyMaintenanceStartTime: l.WeeklyMaintenanceStartTime ?? defaultWeeklyTime(id),
    DeploymentType: d,
    MountName: newMountName((name) => taken.has(name)),
    AutomaticBackupRetentionDays: retention,
    CopyTagsToBackups: l.CopyTagsToBackups ?? false,
    DataCompressionType: l.DataCompressionType ?? 'NONE',
    LogConfiguration: logConfiguration(ctx, l.LogConfiguration),
  };
  if (persistent) c.PerUnitStorageThroughput = l.PerUnitStorageThroughput!;
  if (persistent && (l.DailyAutomaticBackupStartTime || retention > 0))
    c.DailyAutomaticBackupStartTime = l.DailyAutomaticBackupStartTime ?? defaultDailyTime(id);
  if (l.DriveCacheType) c.DriveCacheType = l.DriveCacheType;
  if (l.RootSquashConfiguration) c.RootSquashConfiguration = l.RootSquashConfiguration;
  const md = l.MetadataConfiguration;
  if (md?.Mode)
    c.MetadataConfiguration = { Mode: md.Mode, Iops: md.Iops ?? automaticIops(n.StorageCapacity) };
  if (l.EfaEnabled !== undefined) c.EfaEnabled = l.EfaEnabled;
  if (l.ImportPath !== undefined) {
    // FSx's default ExportPath: a timestamped prefix in the import bucket.
    const stamp = new Date(ctx.now()).toISOString().replace(/[-:]|\.\d+/g, '');
    const bucket = /^s3:\/\/[^/]+/.exec(l.ImportPath)?.[0] ?? l.ImportPath;
    c.DataRepositoryConfiguration = {
      Lifecycle: 'CREATING',
      ImportPath: l.ImportPath,
      ExportPath: l.ExportPath ?? `${bucket}/FSxLustre${stamp}`,
      ImportedFileChunkSize: l.ImportedFileChunkSize ?? 1024,
      AutoImportPolicy: l.AutoImportPolicy ?? 'NONE',
    };
  }
  return c;
}

/** A new file system record in CREATING, added to the state (the caller commits and starts its job). */
export function addFileSystem(
  ctx: ApiContext,
  n: NewFileSystem,
  job: FileSystemRecord['job'],
): FileSystemRecord {
  const id = newId('fs');
  const fs: FileSystem = {
    OwnerId: ctx.accountId,
    CreationTime: ctx.now() / 1000,
    FileSystemId: id,
    FileSystemType: 'LUSTRE',
    Lifecycle: 'CREATING',
    StorageCapacity: n.StorageCapacity,
    StorageType: n.StorageType,
    VpcId: vpcOf(n.SubnetIds[0]!),
    SubnetIds: n.SubnetIds,
    NetworkInterfaceIds: [newId('eni'), newId('eni')],
    DNSName: ctx.mountHost,
    ResourceARN: fileSystemArn(ctx.region, ctx.accountId, id),
    Tags: n.Tags,
    LustreConfiguration: lustreConfiguration(ctx, id, n),
    FileSystemTypeVersion: n.FileSystemTypeVersion,
  };
  if (n.KmsKeyId !== undefined) fs.KmsKeyId = n.KmsKeyId;
  else if (n.DeploymentType.startsWith('PERSISTENT'))
    fs.KmsKeyId = `arn:aws:kms:${ctx.region}:${ctx.accountId}:key/aws-managed-fsx`;
  const rec: FileSystemRecord = { fs, ostCount: 0 };
  if (job) rec.job = job;
  ctx.store.state.fileSystems[id] = rec;
  return rec;
}

export function getFileSystem(ctx: ApiContext, id: string): FileSystemRecord {
  const rec = ctx.store.state.fileSystems[id];
  if (!rec) throw fileSystemNotFound(id);
  return rec;
}

/** Refuses a file system that would exceed the account's file system count or total storage. */
export function checkFileSystemLimits(ctx: ApiContext, addGiB: number, newFileSystem: boolean): void {
  const all = Object.values(ctx.store.state.fileSystems);
  if (newFileSystem && all.length >= ctx.limits.fileSystems)
    throw serviceLimit(
      'FILE_SYSTEM_COUNT',
      `You have reached the limit of ${ctx.limits.fileSystems} file systems.`,
    );
  const used = all.reduce((n, r) => n + r.fs.StorageCapacity, 0);
  if (used + addGiB > ctx.limits.totalStorageGiB)
    throw serviceLimit(
      'TOTAL_STORAGE',
      `This request would use ${used + addGiB} GiB of Lustre storage; the limit is ${ctx.limits.totalStorageGiB} GiB.`,
    );
}

/** Keys beginning with "aws:" belong to AWS. */
export function checkTagKeys(tags: readonly Tag[] | undefined): void {
  for (const t of tags ?? [])
    if (t.Key.toLowerCase().startsWith('aws:'))
      throw badRequest(`Tag key '${t.Key}' is invalid: the aws: prefix is reserved for AWS use.`);
}

/** Sort key: creation order, then id. */
export function creationKey(time: number, id: string): string {
  return `${String(Math.round(time * 1000)).padStart(15, '0')}:${id}`;
}

export function describe(fs: FileSystem): FileSystem {
  return structuredClone(fs);
}
