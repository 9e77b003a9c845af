// Applying UpdateFileSystem's non-capacity changes to a file system's description, recorded as a completed FILE_SYSTEM_UPDATE.
import type { ApiContext } from '../context.ts';
import { defaultDailyTime } from '../ids.ts';
import type { FileSystem, LustreConfiguration } from '../model.ts';
import type { LustreSettingsInput } from './lustre-config.ts';
import { automaticIops } from './lustre-rules.ts';

const KEYS: readonly (keyof LustreSettingsInput)[] = [
  'WeeklyMaintenanceStartTime',
  'DailyAutomaticBackupStartTime',
  'AutomaticBackupRetentionDays',
  'AutoImportPolicy',
  'DataCompressionType',
  'LogConfiguration',
  'RootSquashConfiguration',
  'PerUnitStorageThroughput',
  'MetadataConfiguration',
];

export function hasSettings(l: LustreSettingsInput): boolean {
  return KEYS.some((k) => l[k] !== undefined);
}

/** Applies the (already checked) changes at once; the emulator has nothing to reconfigure behind them. */
export function applySettings(
  fs: FileSystem,
  l: LustreSettingsInput,
  version: string | undefined,
  ctx: ApiContext,
): void {
  const c = fs.LustreConfiguration;
  const changed: Partial<LustreConfiguration> = {};
  const set = <K extends keyof LustreConfiguration>(k: K, v: LustreConfiguration[K] | undefined) => {
    if (v === undefined) return;
    c[k] = v;
    changed[k] = v;
  };
  set('WeeklyMaintenanceStartTime', l.WeeklyMaintenanceStartTime);
  set('DailyAutomaticBackupStartTime', l.DailyAutomaticBackupStartTime);
  set('AutomaticBackupRetentionDays', l.AutomaticBackupRetentionDays);
  if (c.AutomaticBackupRetentionDays > 0 && !c.DailyAutomaticBackupStartTime)
    set('DailyAutomaticBackupStartTime', defaultDailyTime(fs.FileSystemId));
  set('DataCompressionType', l.DataCompressionType);
  if (l.LogConfiguration)
    set(
      'LogConfiguration',
      l.LogConfiguration.Level === 'DISABLED'
        ? { Level: 'DISABLED' }
        : {
            Level: l.LogConfiguration.Level,
            Destination:
              l.LogConfiguration.Destination ??
              `arn:aws:logs:${ctx.region}:${ctx.accountId}:log-group:/aws/fsx/lustre`,
          },
    );
  set('RootSquashConfiguration', l.RootSquashConfiguration);
  set('PerUnitStorageThroughput', l.PerUnitStorageThroughput);
  if (l.MetadataConfiguration) {
    const mode = l.MetadataConfiguration.Mode ?? c.MetadataConfiguration?.Mode ?? 'AUTOMATIC';
    const iops = mode === 'AUTOMATIC' ? automaticIops(fs.StorageCapacity) : l.MetadataConfiguration.Iops;
    set('MetadataConfiguration', {
      Mode: mode,
      Iops: iops ?? c.MetadataConfiguration?.Iops ?? automaticIops(fs.StorageCapacity),
    });
  }
  if (version !== undefined) fs.FileSystemTypeVersion = version;
  fs.AdministrativeActions = [
    ...(fs.AdministrativeActions ?? []).slice(-19),
    {
      AdministrativeActionType: 'FILE_SYSTEM_UPDATE',
      RequestTime: ctx.now() / 1000,
      Status: 'COMPLETED',
      ProgressPercent: 100,
      TargetFileSystemValues: {
        ...(version !== undefined ? { FileSystemTypeVersion: version } : {}),
        ...(Object.keys(changed).length ? { LustreConfiguration: changed as LustreConfiguration } : {}),
      },
    },
  ];
}
