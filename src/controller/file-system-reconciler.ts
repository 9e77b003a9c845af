// Reconciles FileSystem objects with FSx file systems: idempotent creation, adoption, updates, status mirroring, deletion or retention.
import { API_VERSION, type Backend, type FileSystem, type FileSystemStatus, type Tag } from '../api/index.ts';
import { type FileSystemBackend, type FileSystemInfo, isFsxError } from '../fsx/backend.ts';
import type { CustomResourceClient } from '../platform/kube.ts';
import { type LifecycleTable, lifecycleReady } from './child-reconciler.ts';
import { type ConditionUpdate, getCondition, refusedAtGeneration } from './conditions.ts';
import { fileSystemDiff } from './file-system-diff.ts';
import type { ReconcileResult, Reconciler } from './reconcile-loop.ts';
import {
  backendOf,
  ensureFinalizer,
  hasFinalizer,
  type ReconcileContext,
  releaseFinalizer,
  reportingFailures,
  statusClientOf,
  tokens,
  withConditions,
  writeStatus,
} from './reconcile-support.ts';

/** Tags the controller adds to every file system it creates. */
export const TAG_UID = 'nacre.dev/uid';
export const TAG_OBJECT = 'nacre.dev/object';
export const TAG_STRIPE_COUNT = 'nacre.dev/stripe-count';
export const TAG_STRIPE_SIZE = 'nacre.dev/stripe-size';

interface Run {
  ctx: ReconcileContext;
  client: CustomResourceClient<FileSystem>;
  backend: FileSystemBackend;
  backendName: Backend;
  signal: AbortSignal;
}

/** The Reconciler of FileSystem objects. */
export function fileSystemReconciler(
  ctx: ReconcileContext,
  client: CustomResourceClient<FileSystem>,
): Reconciler {
  return async (key, signal) => {
    const obj = await client.get(key.namespace, key.name, signal);
    if (!obj) return {};
    const statusClient = statusClientOf(client);
    return reportingFailures(ctx, statusClient, obj, signal, async () => {
      const backendName = backendOf(ctx, obj, obj.spec.backend);
      const run: Run = {
        ctx,
        client,
        backend: await ctx.backends.get(backendName, signal),
        backendName,
        signal,
      };
      if (obj.metadata.deletionTimestamp) return finalize(run, obj);
      Object.assign(obj.metadata, (await ensureFinalizer(client, obj, signal)).metadata);
      const id = obj.status?.fileSystemID ?? obj.spec.fileSystemID;
      return id ? sync(run, obj, id) : create(run, obj);
    });
  };
}

function ownerTags(obj: FileSystem): Tag[] {
  const tags: Tag[] = [
    { key: TAG_UID, value: obj.metadata.uid ?? '' },
    { key: TAG_OBJECT, value: `${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}` },
  ];
  if (obj.spec.stripeCount !== undefined)
    tags.push({ key: TAG_STRIPE_COUNT, value: String(obj.spec.stripeCount) });
  if (obj.spec.stripeSize !== undefined)
    tags.push({ key: TAG_STRIPE_SIZE, value: String(obj.spec.stripeSize) });
  return tags;
}

const subject = (obj: FileSystem) => ({ ...obj, apiVersion: API_VERSION });

async function create(r: Run, obj: FileSystem): Promise<ReconcileResult> {
  if (refusedAtGeneration(obj.status?.conditions, obj.metadata.generation)) return {};
  let info: FileSystemInfo;
  try {
    const req = { spec: obj.spec, extraTags: ownerTags(obj), clientRequestToken: tokens.create(obj) };
    info = await r.backend.createFileSystem(req, r.signal);
  } catch (err) {
    // The token was spent on an earlier spec (edited while a create was unrecorded): find what it made.
    if (!isFsxError(err, 'IdempotencyConflict')) throw err;
    const found = await r.backend.findFileSystemByTag(TAG_UID, obj.metadata.uid ?? '', r.signal);
    if (!found) throw err;
    info = found;
  }
  const how = obj.spec.backupID ? ` from backup ${obj.spec.backupID}` : '';
  await r.ctx.events.record(
    subject(obj),
    'Normal',
    'Created',
    `created file system ${info.fileSystemId}${how} on ${r.backendName}`,
  );
  return observe(r, obj, info, {
    type: 'Synced',
    status: 'True',
    reason: 'Synced',
    message: 'the backend accepted the spec',
  });
}

async function sync(r: Run, obj: FileSystem, id: string): Promise<ReconcileResult> {
  const info = await r.backend.describeFileSystem(id, r.signal);
  if (!info) return missing(r, obj, id);
  if (!obj.status?.fileSystemID) {
    await r.ctx.events.record(
      subject(obj),
      'Normal',
      'Adopted',
      `adopted file system ${id} on ${r.backendName}`,
    );
  }
  if (info.lifecycle !== 'AVAILABLE' || info.updatePending) return observe(r, obj, info);
  await syncTags(r, obj, info);
  const { update, changes } = fileSystemDiff(obj.spec, info);
  if (changes.length === 0)
    return observe(r, obj, info, {
      type: 'Synced',
      status: 'True',
      reason: 'Synced',
      message: 'the file system matches the spec',
    });
  if (refusedAtGeneration(obj.status?.conditions, obj.metadata.generation)) return observe(r, obj, info);
  const synced = getCondition(obj.status?.conditions, 'Synced');
  if (synced?.reason === 'Updating' && synced.observedGeneration === obj.metadata.generation) {
    // This generation's update was sent and the backend has finished with it: it did not take.
    const failure = info.updateFailure;
    return observe(r, obj, info, {
      type: 'Synced',
      status: 'False',
      reason: failure ? 'UpdateFailed' : 'UpdateIncomplete',
      message: failure ?? `the backend finished updating but still differs: ${changes.join('; ')}`,
    });
  }
  const updated = await r.backend.updateFileSystem(id, update, tokens.update(obj), r.signal);
  await r.ctx.events.record(subject(obj), 'Normal', 'UpdateRequested', changes.join('; '));
  return observe(
    r,
    obj,
    { ...updated, updatePending: updated.updatePending || updated.lifecycle === 'AVAILABLE' },
    {
      type: 'Synced',
      status: 'False',
      reason: 'Updating',
      message: `requested ${changes.join('; ')}`,
    },
  );
}

/** Adds spec tags the file system lacks or holds with another value (tags are never removed). */
async function syncTags(r: Run, obj: FileSystem, info: FileSystemInfo): Promise<void> {
  const have = new Map(info.tags.map((t) => [t.key, t.value ?? '']));
  const lacking = (obj.spec.tags ?? []).filter((t) => have.get(t.key) !== (t.value ?? ''));
  if (lacking.length === 0 || !info.resourceARN) return;
  await r.backend.tagResource(info.resourceARN, lacking, r.signal);
  const keys = lacking.map((t) => t.key).join(', ');
  await r.ctx.events.record(subject(obj), 'Normal', 'Tagged', `set tags ${keys} on ${info.fileSystemId}`);
}

async function missing(r: Run, obj: FileSystem, id: string): Promise<ReconcileResult> {
  const message = `file system ${id} does not exist on the ${r.backendName} backend`;
  const status = withConditions(r.ctx, obj, { ...obj.status, lifecycle: 'NOT_FOUND' }, [
    { type: 'Ready', status: 'False', reason: 'NotFound', message },
    { type: 'Synced', status: 'False', reason: 'NotFound', message },
  ]);
  await writeStatus(r.ctx, statusClient(r), obj, status, r.signal);
  return { requeueAfterMs: r.ctx.slowPollMs };
}

const statusClient = (r: Run) => statusClientOf(r.client);

function readyFor(info: FileSystemInfo): ConditionUpdate {
  const id = info.fileSystemId;
  const updating = info.lifecycle === 'UPDATING' || (info.lifecycle === 'AVAILABLE' && info.updatePending);
  if (updating)
    return {
      type: 'Ready',
      status: 'True',
      reason: 'Updating',
      message: `file system ${id} is usable while it is updated`,
    };
  return lifecycleReady(FILE_SYSTEM, id, info);
}

const FILE_SYSTEM: LifecycleTable = {
  noun: 'file system',
  ready: { AVAILABLE: 'Available' },
  notReady: { CREATING: 'Creating', DELETING: 'Deleting', FAILED: 'Failed', MISCONFIGURED: 'Misconfigured' },
  unknownStatus: 'Unknown',
};

function statusFrom(r: Run, obj: FileSystem, info: FileSystemInfo): FileSystemStatus {
  const s: FileSystemStatus = {
    fileSystemID: info.fileSystemId,
    backend: r.backendName,
    lifecycle: info.lifecycle,
  };
  if (info.dnsName) s.dnsName = info.dnsName;
  if (info.mountName) s.mountName = info.mountName;
  if (info.storageCapacity !== undefined) s.storageCapacity = info.storageCapacity;
  if (info.lustre.deploymentType) s.deploymentType = info.lustre.deploymentType;
  if (info.lustre.perUnitStorageThroughput !== undefined)
    s.perUnitStorageThroughput = info.lustre.perUnitStorageThroughput;
  if (info.fileSystemTypeVersion) s.fileSystemTypeVersion = info.fileSystemTypeVersion;
  if (info.resourceARN) s.resourceARN = info.resourceARN;
  if (info.ownerId) s.ownerID = info.ownerId;
  if (info.vpcId) s.vpcID = info.vpcId;
  if (info.networkInterfaceIds?.length) s.networkInterfaceIDs = info.networkInterfaceIds;
  if (info.failureMessage) s.failureDetails = { message: info.failureMessage };
  if (info.dataRepository) {
    const { lifecycle, failureMessage } = info.dataRepository;
    s.dataRepository = failureMessage
      ? { lifecycle, failureDetails: { message: failureMessage } }
      : { lifecycle };
  }
  if (obj.status?.conditions) s.conditions = obj.status.conditions;
  return s;
}

/** Mirrors `info` into the status with the matching conditions and says when to look again. */
async function observe(
  r: Run,
  obj: FileSystem,
  info: FileSystemInfo,
  synced?: ConditionUpdate,
): Promise<ReconcileResult> {
  const updates = [readyFor(info)];
  if (synced) updates.push(synced);
  else if (!getCondition(obj.status?.conditions, 'Synced'))
    updates.push({
      type: 'Synced',
      status: 'True',
      reason: 'Synced',
      message: 'the backend accepted the spec',
    });
  const status = withConditions(r.ctx, obj, statusFrom(r, obj, info), updates);
  await writeStatus(r.ctx, statusClient(r), obj, status, r.signal);
  if (info.lifecycle === 'FAILED' || info.lifecycle === 'MISCONFIGURED')
    return { requeueAfterMs: r.ctx.slowPollMs };
  if (info.lifecycle !== 'AVAILABLE' || info.updatePending) return { requeueAfterMs: r.ctx.pollMs };
  return {};
}

async function finalize(r: Run, obj: FileSystem): Promise<ReconcileResult> {
  if (!hasFinalizer(obj)) return {};
  const policy = obj.spec.deletionPolicy ?? (obj.spec.fileSystemID ? 'Retain' : 'Delete');
  let id = obj.status?.fileSystemID ?? obj.spec.fileSystemID;
  if (policy === 'Retain') {
    const what = id ? `left file system ${id} in place` : 'no file system to keep';
    await r.ctx.events.record(subject(obj), 'Normal', 'Retained', `${what} (deletionPolicy Retain)`);
    await releaseFinalizer(r.client, obj, r.signal);
    return {};
  }
  // A create may have reached the backend without its ID being recorded.
  id ??= (await r.backend.findFileSystemByTag(TAG_UID, obj.metadata.uid ?? '', r.signal))?.fileSystemId;
  const info = id ? await r.backend.describeFileSystem(id, r.signal) : undefined;
  if (!info) {
    if (id) await r.ctx.events.record(subject(obj), 'Normal', 'Deleted', `file system ${id} is deleted`);
    await releaseFinalizer(r.client, obj, r.signal);
    return {};
  }
  const busy = ['CREATING', 'UPDATING', 'DELETING'].includes(info.lifecycle) || info.updatePending;
  if (busy || refusedAtGeneration(obj.status?.conditions, obj.metadata.generation)) {
    await observe(r, obj, info);
    return busy ? { requeueAfterMs: r.ctx.pollMs } : {};
  }
  const skipFinalBackup = obj.spec.skipFinalBackup ?? true;
  await r.backend.deleteFileSystem(
    info.fileSystemId,
    { skipFinalBackup, clientRequestToken: tokens.delete(obj) },
    r.signal,
  );
  const backup = skipFinalBackup ? 'without' : 'with';
  await r.ctx.events.record(
    subject(obj),
    'Normal',
    'DeleteRequested',
    `deleting file system ${info.fileSystemId} ${backup} a final backup`,
  );
  await observe(r, obj, { ...info, lifecycle: 'DELETING' });
  return { requeueAfterMs: r.ctx.pollMs };
}
