// Reconciles Backup objects with FSx backups: create once (idempotently), mirror the lifecycle, delete or retain.
import { API_VERSION, type Backup, type BackupStatus, type FileSystem } from '../api/index.ts';
import type { BackupInfo, FileSystemBackend } from '../fsx/client.ts';
import type { CustomResourceClient } from '../platform/kube.ts';
import { type ConditionUpdate, refusedAtGeneration } from './conditions.ts';
import { resolveTarget } from './file-system-target.ts';
import type { ReconcileResult, Reconciler } from './reconcile-loop.ts';
import {
  backendOf,
  ensureFinalizer,
  hasFinalizer,
  inProgress,
  type Managed,
  type ReconcileContext,
  releaseFinalizer,
  reportingFailures,
  statusClientOf,
  tokens,
  withConditions,
  writeStatus,
} from './reconcile-support.ts';

interface Run {
  ctx: ReconcileContext;
  client: CustomResourceClient<Managed<BackupStatus>>;
  signal: AbortSignal;
}

export function backupReconciler(
  ctx: ReconcileContext,
  client: CustomResourceClient<Backup>,
  fileSystems: CustomResourceClient<FileSystem>,
): Reconciler {
  const statusClient = statusClientOf(client);
  return async (key, signal) => {
    const obj = await client.get(key.namespace, key.name, signal);
    if (!obj) return {};
    const r: Run = { ctx, client: statusClient, signal };
    return reportingFailures(ctx, statusClient, obj, signal, async () => {
      if (obj.metadata.deletionTimestamp) return finalize(r, obj);
      Object.assign(obj.metadata, (await ensureFinalizer(client, obj, signal)).metadata);
      const id = obj.status?.backupID;
      if (id) {
        const backend = await ctx.backends.get(backendOf(ctx, obj, obj.spec.backend), signal);
        return observe(r, obj, await backend.describeBackup(id, signal), id);
      }
      if (refusedAtGeneration(obj.status?.conditions, obj.metadata.generation)) return {};
      const target = await resolveTarget(ctx, fileSystems, obj, signal);
      if (!target.ready) {
        const status = withConditions(ctx, obj, { ...obj.status }, [
          { type: 'Ready', status: 'False', reason: target.reason, message: target.message },
        ]);
        await writeStatus(ctx, statusClient, obj, status, signal);
        return { requeueAfterMs: target.slow ? ctx.slowPollMs : ctx.pollMs };
      }
      obj.status = { ...obj.status, backend: target.backendName, fileSystemID: target.fileSystemId };
      const info = await target.backend.createBackup(
        target.fileSystemId,
        obj.spec.tags ?? [],
        tokens.create(obj),
        signal,
      );
      await ctx.events.record(
        { ...obj, apiVersion: API_VERSION },
        'Normal',
        'Created',
        `created backup ${info.backupId} of ${target.fileSystemId}`,
      );
      return observe(r, obj, info, info.backupId);
    });
  };
}

function readyFor(info: BackupInfo | undefined, id: string): ConditionUpdate {
  if (!info || info.lifecycle === 'DELETED')
    return { type: 'Ready', status: 'False', reason: 'NotFound', message: `backup ${id} does not exist` };
  if (info.lifecycle === 'AVAILABLE')
    return { type: 'Ready', status: 'True', reason: 'Available', message: `backup ${id} is AVAILABLE` };
  if (info.lifecycle === 'FAILED')
    return {
      type: 'Ready',
      status: 'False',
      reason: 'Failed',
      message: info.failureMessage ?? `backup ${id} FAILED`,
    };
  const progress = info.progressPercent !== undefined ? ` (${info.progressPercent}%)` : '';
  return {
    type: 'Ready',
    status: 'False',
    reason: 'Creating',
    message: `backup ${id} is ${info.lifecycle}${progress}`,
  };
}

async function observe(
  r: Run,
  obj: Backup,
  info: BackupInfo | undefined,
  id: string,
): Promise<ReconcileResult> {
  const s: BackupStatus = {
    backupID: id,
    lifecycle: info?.lifecycle ?? 'NOT_FOUND',
    ...(obj.status?.backend ? { backend: obj.status.backend } : {}),
    ...(obj.status?.conditions ? { conditions: obj.status.conditions } : {}),
  };
  const fsId = info?.fileSystemId ?? obj.status?.fileSystemID;
  if (fsId) s.fileSystemID = fsId;
  if (info?.progressPercent !== undefined) s.progressPercent = info.progressPercent;
  if (info?.type) s.type = info.type;
  if (info?.creationTime) s.creationTime = info.creationTime;
  if (info?.resourceARN) s.resourceARN = info.resourceARN;
  if (info?.failureMessage) s.failureDetails = { message: info.failureMessage };
  const ready = readyFor(info, id);
  const synced: ConditionUpdate = {
    type: 'Synced',
    status: 'True',
    reason: 'Synced',
    message: 'the backend accepted the spec',
  };
  await writeStatus(r.ctx, r.client, obj, withConditions(r.ctx, obj, s, [ready, synced]), r.signal);
  if (inProgress(info?.lifecycle)) return { requeueAfterMs: r.ctx.pollMs };
  return ready.status === 'True' ? {} : { requeueAfterMs: r.ctx.slowPollMs };
}

async function finalize(r: Run, obj: Backup): Promise<ReconcileResult> {
  if (!hasFinalizer(obj)) return {};
  const id = obj.status?.backupID;
  const subject = { ...obj, apiVersion: API_VERSION };
  if (!id || obj.spec.deletionPolicy === 'Retain') {
    if (id)
      await r.ctx.events.record(
        subject,
        'Normal',
        'Retained',
        `left backup ${id} in place (deletionPolicy Retain)`,
      );
    await releaseFinalizer(r.client, obj, r.signal);
    return {};
  }
  const backend: FileSystemBackend = await r.ctx.backends.get(
    backendOf(r.ctx, obj, obj.spec.backend),
    r.signal,
  );
  const info = await backend.describeBackup(id, r.signal);
  if (!info || info.lifecycle === 'DELETED') {
    await r.ctx.events.record(subject, 'Normal', 'Deleted', `backup ${id} is deleted`);
    await releaseFinalizer(r.client, obj, r.signal);
    return {};
  }
  if (inProgress(info.lifecycle)) return observe(r, obj, info, id);
  await backend.deleteBackup(id, tokens.delete(obj), r.signal);
  await r.ctx.events.record(subject, 'Normal', 'DeleteRequested', `deleting backup ${id}`);
  return { requeueAfterMs: r.ctx.pollMs };
}
