// Reconciles Backup objects with FSx backups: create once (idempotently), mirror the lifecycle, delete or retain.
import { API_VERSION, type Backup, type BackupStatus, type FileSystem } from '../api/index.ts';
import type { BackupInfo } from '../fsx/backend.ts';
import type { CustomResourceClient } from '../platform/kube.ts';
import {
  backendFor,
  type ChildRun,
  childReconciler,
  type LifecycleTable,
  lifecycleReady,
  SYNCED,
} from './child-reconciler.ts';
import type { ReconcileResult, Reconciler } from './reconcile-loop.ts';
import {
  hasFinalizer,
  inProgress,
  type ReconcileContext,
  releaseFinalizer,
  tokens,
  withConditions,
  writeStatus,
} from './reconcile-support.ts';

type Run = ChildRun<Backup>;

const BACKUP: LifecycleTable = {
  noun: 'backup',
  ready: { AVAILABLE: 'Available' },
  notReady: {
    CREATING: 'Creating',
    PENDING: 'Creating',
    TRANSFERRING: 'Creating',
    COPYING: 'Creating',
    FAILED: 'Failed',
  },
  gone: ['DELETED'],
};

export function backupReconciler(
  ctx: ReconcileContext,
  client: CustomResourceClient<Backup>,
  fileSystems: CustomResourceClient<FileSystem>,
): Reconciler {
  return childReconciler<Backup, BackupInfo>(ctx, client, fileSystems, {
    idOf: (obj) => obj.status?.backupID,
    sync: (r, backend, id) => backend.describeBackup(id, r.signal),
    create: async (r, target) => {
      const info = await target.backend.createBackup(
        target.fileSystemId,
        r.obj.spec.tags ?? [],
        tokens.create(r.obj),
        r.signal,
      );
      return {
        info,
        id: info.backupId,
        message: `created backup ${info.backupId} of ${target.fileSystemId}`,
      };
    },
    observe,
    finalize,
  });
}

async function observe(r: Run, info: BackupInfo | undefined, id: string): Promise<ReconcileResult> {
  const { obj } = r;
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
  // Progress is news only while it is being made.
  const making = info?.progressPercent !== undefined && BACKUP.notReady[info.lifecycle] === 'Creating';
  const ready = lifecycleReady(BACKUP, id, info, making ? ` (${info.progressPercent}%)` : '');
  await writeStatus(r.ctx, r.client, obj, withConditions(r.ctx, obj, s, [ready, SYNCED]), r.signal);
  if (inProgress(info?.lifecycle)) return { requeueAfterMs: r.ctx.pollMs };
  return ready.status === 'True' ? {} : { requeueAfterMs: r.ctx.slowPollMs };
}

async function finalize(r: Run): Promise<ReconcileResult> {
  const { obj } = r;
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
  const backend = await backendFor(r);
  const info = await backend.describeBackup(id, r.signal);
  if (!info || info.lifecycle === 'DELETED') {
    await r.ctx.events.record(subject, 'Normal', 'Deleted', `backup ${id} is deleted`);
    await releaseFinalizer(r.client, obj, r.signal);
    return {};
  }
  if (inProgress(info.lifecycle)) return observe(r, info, id);
  await backend.deleteBackup(id, tokens.delete(obj), r.signal);
  await r.ctx.events.record(subject, 'Normal', 'DeleteRequested', `deleting backup ${id}`);
  return { requeueAfterMs: r.ctx.pollMs };
}
