// Backup records: a new backup of a file system in CREATING, lookups, and the settings a restore inherits from its backup.

import type { ApiContext } from '../context.ts';
import type { LustreCreateInput } from '../file-systems/lustre-config.ts';
import { backupNotFound } from '../http/api-error.ts';
import type { Tag } from '../http/input.ts';
import { backupArn, newId } from '../ids.ts';
import type { Backup, BackupRecord, FileSystemRecord, LustreConfiguration } from '../model.ts';

/** Adds a backup of `fs` in CREATING, pending (the caller commits and runs it). */
export function addBackup(
  ctx: ApiContext,
  fs: FileSystemRecord,
  tags: Tag[],
  type: Backup['Type'],
): BackupRecord {
  const id = newId('backup');
  const { AdministrativeActions: _, ...snapshot } = structuredClone(fs.fs);
  const backup: Backup = {
    BackupId: id,
    Lifecycle: 'CREATING',
    Type: type,
    ProgressPercent: 0,
    CreationTime: ctx.now() / 1000,
    ResourceARN: backupArn(ctx.region, ctx.accountId, id),
    Tags: tags,
    FileSystem: snapshot,
    OwnerId: ctx.accountId,
    ResourceType: 'FILE_SYSTEM',
  };
  if (fs.fs.KmsKeyId) backup.KmsKeyId = fs.fs.KmsKeyId;
  const rec: BackupRecord = { backup, fsname: fs.fs.LustreConfiguration.MountName, pending: true };
  ctx.store.state.backups[id] = rec;
  return rec;
}

export function getBackup(ctx: ApiContext, id: string): BackupRecord {
  const rec = ctx.store.state.backups[id];
  if (!rec) throw backupNotFound(id);
  return rec;
}

/** The Lustre settings of the backed-up file system, as create input (a restore's defaults). */
export function settingsOf(c: LustreConfiguration): LustreCreateInput {
  const out: LustreCreateInput = {
    DeploymentType: c.DeploymentType,
    WeeklyMaintenanceStartTime: c.WeeklyMaintenanceStartTime,
    AutomaticBackupRetentionDays: c.AutomaticBackupRetentionDays,
    CopyTagsToBackups: c.CopyTagsToBackups,
    DataCompressionType: c.DataCompressionType,
    LogConfiguration: c.LogConfiguration,
  };
  if (c.PerUnitStorageThroughput !== undefined) out.PerUnitStorageThroughput = c.PerUnitStorageThroughput;
  if (c.DailyAutomaticBackupStartTime !== undefined)
    out.DailyAutomaticBackupStartTime = c.DailyAutomaticBackupStartTime;
  if (c.DriveCacheType !== undefined) out.DriveCacheType = c.DriveCacheType;
  if (c.RootSquashConfiguration !== undefined) out.RootSquashConfiguration = c.RootSquashConfiguration;
  const md = c.MetadataConfiguration;
  if (md) out.MetadataConfiguration = md.Mode === 'AUTOMATIC' ? { Mode: md.Mode } : md;
  if (c.EfaEnabled !== undefined) out.EfaEnabled = c.EfaEnabled;
  return out;
}
