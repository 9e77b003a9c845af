// Reconciles DataRepositoryAssociation and DataRepositoryTask objects with their FSx counterparts.
import { isDeepStrictEqual } from 'node:util';
import {
  API_VERSION,
  type DataRepositoryAssociation,
  type DataRepositoryAssociationStatus,
  type DataRepositoryTask,
  type DataRepositoryTaskStatus,
  type FileSystem,
} from '../api/index.ts';
import type { AssociationInfo, TaskInfo } from '../fsx/client.ts';
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
  type StatusBase,
  statusClientOf,
  tokens,
  withConditions,
  writeStatus,
} from './reconcile-support.ts';

type Dra = DataRepositoryAssociation;
type Task = DataRepositoryTask;

const synced: ConditionUpdate = {
  type: 'Synced',
  status: 'True',
  reason: 'Synced',
  message: 'the backend accepted the spec',
};

/** Writes a "waiting for the file system" status and says when to look again. */
async function waiting<S extends StatusBase>(
  ctx: ReconcileContext,
  client: CustomResourceClient<Managed<S>>,
  obj: Managed<S>,
  target: { reason: string; message: string; slow: boolean },
  signal: AbortSignal,
): Promise<ReconcileResult> {
  const status = withConditions(ctx, obj, { ...(obj.status ?? ({} as S)) }, [
    { type: 'Ready', status: 'False', reason: target.reason, message: target.message },
  ]);
  await writeStatus(ctx, client, obj, status, signal);
  return { requeueAfterMs: target.slow ? ctx.slowPollMs : ctx.pollMs };
}

export function associationReconciler(
  ctx: ReconcileContext,
  client: CustomResourceClient<Dra>,
  fileSystems: CustomResourceClient<FileSystem>,
): Reconciler {
  const sc = statusClientOf(client);
  return async (key, signal) => {
    const obj = await client.get(key.namespace, key.name, signal);
    if (!obj) return {};
    return reportingFailures(ctx, sc, obj, signal, async () => {
      if (obj.metadata.deletionTimestamp) return finalizeAssociation(ctx, sc, obj, signal);
      Object.assign(obj.metadata, (await ensureFinalizer(client, obj, signal)).metadata);
      const id = obj.status?.associationID;
      if (id) {
        const backend = await ctx.backends.get(backendOf(ctx, obj, obj.spec.backend), signal);
        let info = await backend.describeDataRepositoryAssociation(id, signal);
        const want = { importedFileChunkSize: obj.spec.importedFileChunkSize, s3: obj.spec.s3 };
        const differs =
          (want.importedFileChunkSize !== undefined &&
            want.importedFileChunkSize !== info?.importedFileChunkSize) ||
          (want.s3 !== undefined && !isDeepStrictEqual(want.s3, info?.s3));
        if (
          info?.lifecycle === 'AVAILABLE' &&
          differs &&
          !refusedAtGeneration(obj.status?.conditions, obj.metadata.generation)
        ) {
          const update = Object.fromEntries(Object.entries(want).filter(([, v]) => v !== undefined));
          info = await backend.updateDataRepositoryAssociation(id, update, tokens.update(obj), signal);
        }
        return observeAssociation(ctx, sc, obj, info, id, signal);
      }
      if (refusedAtGeneration(obj.status?.conditions, obj.metadata.generation)) return {};
      const target = await resolveTarget(ctx, fileSystems, obj, signal);
      if (!target.ready) return waiting(ctx, sc, obj, target, signal);
      obj.status = { ...obj.status, backend: target.backendName, fileSystemID: target.fileSystemId };
      const info = await target.backend.createDataRepositoryAssociation(
        target.fileSystemId,
        obj.spec,
        tokens.create(obj),
        signal,
      );
      const msg = `created association ${info.associationId} of ${target.fileSystemId} with ${obj.spec.dataRepositoryPath}`;
      await ctx.events.record({ ...obj, apiVersion: API_VERSION }, 'Normal', 'Created', msg);
      return observeAssociation(ctx, sc, obj, info, info.associationId, signal);
    });
  };
}

function associationReady(info: AssociationInfo | undefined, id: string): ConditionUpdate {
  if (!info)
    return {
      type: 'Ready',
      status: 'False',
      reason: 'NotFound',
      message: `association ${id} does not exist`,
    };
  if (info.lifecycle === 'AVAILABLE')
    return { type: 'Ready', status: 'True', reason: 'Available', message: `association ${id} is AVAILABLE` };
  const reason = {
    CREATING: 'Creating',
    UPDATING: 'Updating',
    DELETING: 'Deleting',
    FAILED: 'Failed',
    MISCONFIGURED: 'Misconfigured',
  }[info.lifecycle];
  return {
    type: 'Ready',
    status: 'False',
    reason: reason ?? 'UnknownLifecycle',
    message: info.failureMessage ?? `association ${id} is ${info.lifecycle}`,
  };
}

async function observeAssociation(
  ctx: ReconcileContext,
  client: CustomResourceClient<Managed<DataRepositoryAssociationStatus>>,
  obj: Dra,
  info: AssociationInfo | undefined,
  id: string,
  signal: AbortSignal,
): Promise<ReconcileResult> {
  const s: DataRepositoryAssociationStatus = { associationID: id, lifecycle: info?.lifecycle ?? 'NOT_FOUND' };
  if (obj.status?.backend) s.backend = obj.status.backend;
  const fsId = info?.fileSystemId ?? obj.status?.fileSystemID;
  if (fsId) s.fileSystemID = fsId;
  if (info?.resourceARN) s.resourceARN = info.resourceARN;
  if (info?.failureMessage) s.failureDetails = { message: info.failureMessage };
  if (obj.status?.conditions) s.conditions = obj.status.conditions;
  const ready = associationReady(info, id);
  await writeStatus(ctx, client, obj, withConditions(ctx, obj, s, [ready, synced]), signal);
  if (inProgress(info?.lifecycle)) return { requeueAfterMs: ctx.pollMs };
  return ready.status === 'True' ? {} : { requeueAfterMs: ctx.slowPollMs };
}

async function finalizeAssociation(
  ctx: ReconcileContext,
  client: CustomResourceClient<Managed<DataRepositoryAssociationStatus>>,
  obj: Dra,
  signal: AbortSignal,
): Promise<ReconcileResult> {
  if (!hasFinalizer(obj)) return {};
  const id = obj.status?.associationID;
  if (!id || obj.spec.deletionPolicy === 'Retain') {
    await releaseFinalizer(client, obj, signal);
    return {};
  }
  const backend = await ctx.backends.get(backendOf(ctx, obj, obj.spec.backend), signal);
  const info = await backend.describeDataRepositoryAssociation(id, signal);
  if (!info) {
    await ctx.events.record(
      { ...obj, apiVersion: API_VERSION },
      'Normal',
      'Deleted',
      `association ${id} is deleted`,
    );
    await releaseFinalizer(client, obj, signal);
    return {};
  }
  if (inProgress(info.lifecycle)) return observeAssociation(ctx, client, obj, info, id, signal);
  await backend.deleteDataRepositoryAssociation(
    id,
    obj.spec.deleteDataInFileSystem ?? false,
    tokens.delete(obj),
    signal,
  );
  return { requeueAfterMs: ctx.pollMs };
}

export function taskReconciler(
  ctx: ReconcileContext,
  client: CustomResourceClient<Task>,
  fileSystems: CustomResourceClient<FileSystem>,
): Reconciler {
  const sc = statusClientOf(client);
  return async (key, signal) => {
    const obj = await client.get(key.namespace, key.name, signal);
    if (!obj) return {};
    return reportingFailures(ctx, sc, obj, signal, async () => {
      const id = obj.status?.taskID;
      if (obj.metadata.deletionTimestamp) {
        if (!hasFinalizer(obj)) return {};
        // A task is not undone; deleting its object cancels it if it is still running.
        if (id && inProgress(obj.status?.lifecycle)) {
          const backend = await ctx.backends.get(backendOf(ctx, obj, obj.spec.backend), signal);
          await backend.cancelDataRepositoryTask(id, signal);
        }
        await releaseFinalizer(client, obj, signal);
        return {};
      }
      Object.assign(obj.metadata, (await ensureFinalizer(client, obj, signal)).metadata);
      if (id) {
        const backend = await ctx.backends.get(backendOf(ctx, obj, obj.spec.backend), signal);
        return observeTask(ctx, sc, obj, await backend.describeDataRepositoryTask(id, signal), id, signal);
      }
      if (refusedAtGeneration(obj.status?.conditions, obj.metadata.generation)) return {};
      const target = await resolveTarget(ctx, fileSystems, obj, signal);
      if (!target.ready) return waiting(ctx, sc, obj, target, signal);
      obj.status = { ...obj.status, backend: target.backendName, fileSystemID: target.fileSystemId };
      const info = await target.backend.createDataRepositoryTask(
        target.fileSystemId,
        obj.spec,
        tokens.create(obj),
        signal,
      );
      const msg = `created ${obj.spec.type} task ${info.taskId} on ${target.fileSystemId}`;
      await ctx.events.record({ ...obj, apiVersion: API_VERSION }, 'Normal', 'Created', msg);
      return observeTask(ctx, sc, obj, info, info.taskId, signal);
    });
  };
}

function taskReady(info: TaskInfo | undefined, id: string): ConditionUpdate {
  if (!info)
    return { type: 'Ready', status: 'False', reason: 'NotFound', message: `task ${id} does not exist` };
  const counts =
    info.totalCount !== undefined
      ? ` (${info.succeededCount ?? 0}/${info.totalCount} files, ${info.failedCount ?? 0} failed)`
      : '';
  const message = info.failureMessage ?? `task ${id} is ${info.lifecycle}${counts}`;
  if (info.lifecycle === 'SUCCEEDED') return { type: 'Ready', status: 'True', reason: 'Succeeded', message };
  const reason = {
    PENDING: 'Pending',
    EXECUTING: 'Executing',
    CANCELING: 'Canceling',
    CANCELED: 'Canceled',
    FAILED: 'Failed',
  }[info.lifecycle];
  return { type: 'Ready', status: 'False', reason: reason ?? 'UnknownLifecycle', message };
}

async function observeTask(
  ctx: ReconcileContext,
  client: CustomResourceClient<Managed<DataRepositoryTaskStatus>>,
  obj: Task,
  info: TaskInfo | undefined,
  id: string,
  signal: AbortSignal,
): Promise<ReconcileResult> {
  const {
    taskId: _t,
    lifecycle,
    failureMessage,
    fileSystemId,
    ...rest
  } = info ?? { taskId: id, lifecycle: 'NOT_FOUND' };
  const s: DataRepositoryTaskStatus = { taskID: id, lifecycle, ...rest };
  if (obj.status?.backend) s.backend = obj.status.backend;
  const fsId = fileSystemId ?? obj.status?.fileSystemID;
  if (fsId) s.fileSystemID = fsId;
  if (failureMessage) s.failureDetails = { message: failureMessage };
  if (obj.status?.conditions) s.conditions = obj.status.conditions;
  await writeStatus(ctx, client, obj, withConditions(ctx, obj, s, [taskReady(info, id), synced]), signal);
  return inProgress(info?.lifecycle) ? { requeueAfterMs: ctx.pollMs } : {};
}
