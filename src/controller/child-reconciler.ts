// The one skeleton of reconcilers for resources that live on a file system (Backup, DataRepositoryAssociation, DataRepositoryTask), and the lifecycle→Ready table they read.
import { API_VERSION, type FileSystem } from '../api/index.ts';
import type { FileSystemBackend } from '../fsx/backend.ts';
import type { CustomResourceClient } from '../platform/kube.ts';
import { type ConditionUpdate, refusedAtGeneration } from './conditions.ts';
import {
  resolveTarget,
  type Target,
  type TargetingSpec,
  type TargetingStatus,
} from './file-system-target.ts';
import type { ReconcileResult, Reconciler } from './reconcile-loop.ts';
import {
  backendOf,
  ensureFinalizer,
  type Managed,
  type ReconcileContext,
  reportingFailures,
  type StatusBase,
  type StatusOf,
  statusClientOf,
  withConditions,
  writeStatus,
} from './reconcile-support.ts';

/** A resource that names the file system it lives on. */
export type Child = Managed<StatusBase & TargetingStatus> & { spec: TargetingSpec };

/** A file system that can take the object. */
export type ReadyTarget = Extract<Target, { ready: true }>;

/** One reconcile of one object: what its kind's steps work with. */
export interface ChildRun<T extends Child> {
  ctx: ReconcileContext;
  /** The object's client, typed for status writes. */
  client: CustomResourceClient<Managed<StatusOf<T>>>;
  obj: T;
  signal: AbortSignal;
}

/** The backend that holds `run.obj`: recorded in its status, else its spec, else the default. */
export function backendFor(run: ChildRun<Child>): Promise<FileSystemBackend> {
  return run.ctx.backends.get(backendOf(run.ctx, run.obj, run.obj.spec.backend), run.signal);
}

/** What differs between the kinds; the order of the steps is childReconciler's. */
export interface ChildKind<T extends Child, Info> {
  /** The backend's id of the object once created (e.g. status.backupID). */
  idOf(obj: T): string | undefined;
  /** The backend's view of a created object, brought to the spec if it drifted; undefined when it is gone. */
  sync(run: ChildRun<T>, backend: FileSystemBackend, id: string): Promise<Info | undefined>;
  /** Creates the object on its file system, idempotently (tokens.create); says what the Created Event says. */
  create(run: ChildRun<T>, target: ReadyTarget): Promise<{ info: Info; id: string; message: string }>;
  /** Writes the status for what the backend reports and says when to look again. */
  observe(run: ChildRun<T>, info: Info | undefined, id: string): Promise<ReconcileResult>;
  /** The object is being deleted: undo (or retain) it on the backend and release the finalizer. */
  finalize(run: ChildRun<T>): Promise<ReconcileResult>;
}

/**
 * Level-based: a deleted object is finalized; else the finalizer is ensured; a created object is
 * synced and observed; a spec the backend refused is left until it changes; an object whose file
 * system is not usable yet says so in Ready and is looked at again; else it is created, with a
 * Created Event. Backend failures become conditions (reportingFailures).
 */
export function childReconciler<T extends Child, Info>(
  ctx: ReconcileContext,
  client: CustomResourceClient<T>,
  fileSystems: CustomResourceClient<FileSystem>,
  kind: ChildKind<T, Info>,
): Reconciler {
  const statusClient = statusClientOf(client);
  return async (key, signal) => {
    const obj = await client.get(key.namespace, key.name, signal);
    if (!obj) return {};
    const run: ChildRun<T> = { ctx, client: statusClient, obj, signal };
    return reportingFailures(ctx, statusClient, obj, signal, async () => {
      if (obj.metadata.deletionTimestamp) return kind.finalize(run);
      Object.assign(obj.metadata, (await ensureFinalizer(client, obj, signal)).metadata);
      const id = kind.idOf(obj);
      if (id) return kind.observe(run, await kind.sync(run, await backendFor(run), id), id);
      if (refusedAtGeneration(obj.status?.conditions, obj.metadata.generation)) return {};
      const target = await resolveTarget(ctx, fileSystems, obj, signal);
      if (!target.ready) return waiting(run, target);
      obj.status = {
        ...obj.status,
        backend: target.backendName,
        fileSystemID: target.fileSystemId,
      } as StatusOf<T>;
      const created = await kind.create(run, target);
      await ctx.events.record({ ...obj, apiVersion: API_VERSION }, 'Normal', 'Created', created.message);
      return kind.observe(run, created.info, created.id);
    });
  };
}

/** Writes a "waiting for the file system" Ready condition and says when to look again. */
async function waiting<T extends Child>(
  run: ChildRun<T>,
  target: { reason: string; message: string; slow: boolean },
): Promise<ReconcileResult> {
  const { ctx, obj } = run;
  const status = withConditions(ctx, obj, { ...(obj.status ?? ({} as StatusOf<T>)) }, [
    { type: 'Ready', status: 'False', reason: target.reason, message: target.message },
  ]);
  await writeStatus(ctx, run.client, obj, status, run.signal);
  return { requeueAfterMs: target.slow ? ctx.slowPollMs : ctx.pollMs };
}

/** How a kind's backend lifecycle reads as the Ready condition. */
export interface LifecycleTable {
  /** The resource as users say it, e.g. "backup". */
  noun: string;
  /** Lifecycles in which the resource is usable, with their reason (Ready=True). */
  ready: Readonly<Record<string, string>>;
  /** Every other known lifecycle's reason (Ready=False). */
  notReady: Readonly<Record<string, string>>;
  /** Lifecycles that mean the resource is gone (reason NotFound). */
  gone?: readonly string[];
  /** Ready's status for a lifecycle in neither table (reason UnknownLifecycle). Default False. */
  unknownStatus?: 'False' | 'Unknown';
}

/**
 * The Ready condition for `info`: NotFound when it is absent or gone, else the table's reason. The
 * message says "<noun> <id> is <LIFECYCLE><detail>"; when not ready, the backend's failure message
 * instead if it has one.
 */
export function lifecycleReady(
  table: LifecycleTable,
  id: string,
  info: { lifecycle: string; failureMessage?: string | undefined } | undefined,
  detail = '',
): ConditionUpdate {
  if (!info || table.gone?.includes(info.lifecycle))
    return {
      type: 'Ready',
      status: 'False',
      reason: 'NotFound',
      message: `${table.noun} ${id} does not exist`,
    };
  const state = `${table.noun} ${id} is ${info.lifecycle}${detail}`;
  const ready = table.ready[info.lifecycle];
  if (ready !== undefined) return { type: 'Ready', status: 'True', reason: ready, message: state };
  const message = info.failureMessage ?? state;
  const reason = table.notReady[info.lifecycle];
  if (reason !== undefined) return { type: 'Ready', status: 'False', reason, message };
  return { type: 'Ready', status: table.unknownStatus ?? 'False', reason: 'UnknownLifecycle', message };
}

/** Synced=True: what a kind's observe writes beside Ready once the backend took the spec. */
export const SYNCED: ConditionUpdate = {
  type: 'Synced',
  status: 'True',
  reason: 'Synced',
  message: 'the backend accepted the spec',
};
