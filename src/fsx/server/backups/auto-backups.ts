// Automatic daily backups of PERSISTENT file systems: taken after DailyAutomaticBackupStartTime (UTC), kept AutomaticBackupRetentionDays.
import { logger } from '../../../lib/log.ts';
import type { ApiContext } from '../context.ts';
import type { BackupRecord, FileSystemRecord } from '../model.ts';
import { addBackup } from './backups.ts';

const DAY_MS = 24 * 3600_000;

/** The most recent moment at or before `nowMs` when the daily time "HH:MM" (UTC) came round. */
export function lastDailyTime(nowMs: number, daily: string): number {
  const m = /^(\d\d):?(\d\d)$/.exec(daily);
  if (!m) return Number.NEGATIVE_INFINITY;
  const day = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const today = day + (Number(m[1]) * 60 + Number(m[2])) * 60_000;
  return today <= nowMs ? today : today - DAY_MS;
}

function due(rec: FileSystemRecord, backups: BackupRecord[], nowMs: number): boolean {
  const c = rec.fs.LustreConfiguration;
  if (!c.DeploymentType.startsWith('PERSISTENT') || rec.fs.Lifecycle !== 'AVAILABLE') return false;
  if (c.AutomaticBackupRetentionDays <= 0 || !c.DailyAutomaticBackupStartTime) return false;
  const at = lastDailyTime(nowMs, c.DailyAutomaticBackupStartTime);
  if (rec.fs.CreationTime * 1000 > at) return false;
  const mine = backups.filter((b) => b.backup.FileSystem.FileSystemId === rec.fs.FileSystemId);
  if (mine.some((b) => b.backup.Lifecycle === 'CREATING')) return false;
  return !mine.some((b) => b.backup.Type === 'AUTOMATIC' && b.backup.CreationTime * 1000 >= at);
}

function expired(ctx: ApiContext, b: BackupRecord, nowMs: number): boolean {
  if (b.backup.Type !== 'AUTOMATIC' || b.backup.Lifecycle === 'CREATING' || b.restoring?.length) return false;
  const fs = ctx.store.state.fileSystems[b.backup.FileSystem.FileSystemId]?.fs;
  const days =
    fs?.LustreConfiguration.AutomaticBackupRetentionDays ??
    b.backup.FileSystem.LustreConfiguration.AutomaticBackupRetentionDays;
  return b.backup.CreationTime * 1000 < nowMs - days * DAY_MS;
}

/** Starts the backups that are due and deletes the automatic backups past their retention. */
export async function autoBackupTick(ctx: ApiContext): Promise<{ started: string[]; pruned: string[] }> {
  const now = ctx.now();
  const { state } = ctx.store;
  const backups = Object.values(state.backups);
  const started: string[] = [];
  for (const rec of Object.values(state.fileSystems)) {
    if (!due(rec, backups, now)) continue;
    const c = rec.fs.LustreConfiguration;
    started.push(addBackup(ctx, rec, c.CopyTagsToBackups ? rec.fs.Tags : [], 'AUTOMATIC').backup.BackupId);
  }
  const pruned = backups.filter((b) => expired(ctx, b, now)).map((b) => b.backup.BackupId);
  for (const id of pruned) delete state.backups[id];
  if (started.length === 0 && pruned.length === 0) return { started, pruned };
  await ctx.store.commit();
  for (const id of started) void ctx.jobs.runBackup(id);
  for (const id of pruned) await ctx.backups?.delete(id);
  return { started, pruned };
}

/** Runs `autoBackupTick` every `intervalMs` until the returned function is called. */
export function startAutoBackups(ctx: ApiContext, intervalMs: number): () => void {
  const log = logger('fsx-api');
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    autoBackupTick(ctx)
      .then(({ started, pruned }) => {
        if (started.length || pruned.length) log.info('automatic backups', { started, pruned });
      })
      .catch((err: unknown) => log.error('automatic backups failed', { error: String(err) }))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
