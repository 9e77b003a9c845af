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
import type { AssociationInfo, FileSystemBackend, TaskInfo } from '../fsx/backend.ts';
import type { CustomResourceClient } from '../platform/kube.ts';
import {
  backendFor,
  type ChildRun,
  childReconciler,
  type LifecycleTable,
  lifecycleReady,
  SYNCED,
} from './child-reconciler.ts';
import { refusedAtGeneration } from './conditions.ts';
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

type Dra = DataRepositoryAssociation;
type Task = DataRepositoryTask;

const ASSOCIATION: LifecycleTable = {
  noun: 'association',
  ready: { AVAILABLE: 'Available' },
  notReady: {
    CREATING: 'Creating',
    UPDATING: 'Updating',
    DELETING: 'Deleting',
    FAILED: 'Failed',
    MISCONFIGURED: 'Misconfigured',
  },
};

const TASK: LifecycleTable = {
  noun: 'task',
  ready: { SUCCEEDED: 'Succeeded' },
  notReady: {
    PENDING: 'Pending',
    EXECUTING: 'Executing',
    CANCELING: 'Canceling',
    CANCELED: 'Canceled',
    FAILED: 'Failed',
  },
};

export function associationReconciler(
  ctx: ReconcileContext,
  client: CustomResourceClient<Dra>,
  fileSystems: CustomResourceClient<FileSystem>,
): Reconciler {
  return childReconciler<Dra, AssociationInfo>(ctx, client, fileSystems, {
    idOf: (obj) => obj.status?.associationID,
    sync: syncAssociation,
    create: async (r, target) => {
      const info = await target.backend.createDataRepositoryAssociation(
        target.fileSystemId,
        r.obj.spec,
        tokens.create(r.obj),
        r.signal,
      );
      const message = `created association ${info.associationId} of ${target.fileSystemId} with ${r.obj.spec.dataRepositoryPath}`;
      return { info, id: info.associationId, message };
    },
    observe: observeAssociation,
    finalize: finalizeAssociation,
  });
}

/** Describes the association and, when it is AVAILABLE and differs from a spec not refused before, updates it. */
async function syncAssociation(
  r: ChildRun<Dra>,
  backend: FileSystemBackend,
  id: string,
): Promise<AssociationInfo | undefined> {
  const { obj, signal } = r;
  const info = await backend.describeDataRepositoryAssociation(id, signal);
  const want = { importedFileChunkSize: obj.spec.importedFileChunkSize, s3: obj.spec.s3 };
  const differs =
    (want.importedFileChunkSize !== undefined &&
      want.importedFileChunkSize !== info?.importedFileChunkSize) ||
    (want.s3 !== undefined && !isDeepStrictEqual(want.s3, info?.s3));
  if (
    info?.lifecycle !== 'AVAILABLE' ||
    !differs ||
    refusedAtGeneration(obj.status?.conditions, obj.metadata.generation)
  )
    return info;
  const update = Object.fromEntries(Object.entries(want).filter(([, v]) => v !== undefined));
  return backend.updateDataRepositoryAssociation(id, update, tokens.update(obj), signal);
}

async function observeAssociation(
  r: ChildRun<Dra>,
  info: AssociationInfo | undefined,
  id: string,
): Promise<ReconcileResult> {
  const { ctx, obj } = r;
  const s: DataRepositoryAssociationStatus = { associationID: id, lifecycle: info?.lifecycle ?? 'NOT_FOUND' };
  if (obj.status?.backend) s.backend = obj.status.backend;
  const fsId = info?.fileSystemId ?? obj.status?.fileSystemID;
  if (fsId) s.fileSystemID = fsId;
  if (info?.resourceARN) s.resourceARN = info.resourceARN;
  if (info?.failureMessage) s.failureDetails = { message: info.failureMessage };
  if (obj.status?.conditions) s.conditions = obj.status.conditions;
  const ready = lifecycleReady(ASSOCIATION, id, info);
  await writeStatus(ctx, r.client, obj, withConditions(ctx, obj, s, [ready, SYNCED]), r.signal);
  if (inProgress(info?.lifecycle)) return { requeueAfterMs: ctx.pollMs };
  return ready.status === 'True' ? {} : { requeueAfterMs: ctx.slowPollMs };
}

async function finalizeAssociation(r: ChildRun<Dra>): Promise<ReconcileResult> {
  const { ctx, obj, signal } = r;
  if (!hasFinalizer(obj)) return {};
  const id = obj.status?.associationID;
  if (!id || obj.spec.deletionPolicy === 'Retain') {
    await releaseFinalizer(r.client, obj, signal);
    return {};
  }
  const backend = await backendFor(r);
  const info = await backend.describeDataRepositoryAssociation(id, signal);
  if (!info) {
    await ctx.events.record(
      { ...obj, apiVersion: API_VERSION },
      'Normal',
      'Deleted',
      `association ${id} is deleted`,
    );
    await releaseFinalizer(r.client, obj, signal);
    return {};
  }
  if (inProgress(info.lifecycle)) return observeAssociation(r, info, id);
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
  return childReconciler<Task, TaskInfo>(ctx, client, fileSystems, {
    idOf: (obj) => obj.status?.taskID,
    sync: (r, backend, id) => backend.describeDataRepositoryTask(id, r.signal),
    create: async (r, target) => {
      const info = await target.backend.createDataRepositoryTask(
        target.fileSystemId,
        r.obj.spec,
        tokens.create(r.obj),
        r.signal,
      );
      return {
        info,
        id: info.taskId,
        message: `created ${r.obj.spec.type} task ${info.taskId} on ${target.fileSystemId}`,
      };
    },
    observe: observeTask,
    // A task is not undone; deleting its object cancels it if it is still running.
    finalize: async (r) => {
      if (!hasFinalizer(r.obj)) return {};
      const id = r.obj.status?.taskID;
      if (id && inProgress(r.obj.status?.lifecycle))
        await (await backendFor(r)).cancelDataRepositoryTask(id, r.signal);
      await releaseFinalizer(r.client, r.obj, r.signal);
      return {};
    },
  });
}

async function observeTask(
  r: ChildRun<Task>,
  info: TaskInfo | undefined,
  id: string,
): Promise<ReconcileResult> {
  const { ctx, obj } = r;
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
  const counts =
    info?.totalCount !== undefined
      ? ` (${info.succeededCount ?? 0}/${info.totalCount} files, ${info.failedCount ?? 0} failed)`
      : '';
  const ready = lifecycleReady(TASK, id, info, counts);
  await writeStatus(ctx, r.client, obj, withConditions(ctx, obj, s, [ready, SYNCED]), r.signal);
  return inProgress(info?.lifecycle) ? { requeueAfterMs: ctx.pollMs } : {};
}
