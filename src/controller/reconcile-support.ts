// What every reconciler shares: the context it runs in, finalizers, status writes with Events on each transition, and failures turned into conditions.
import { isDeepStrictEqual } from 'node:util';
import { API_VERSION, type Backend, type Condition, FINALIZER, type Resource } from '../api/index.ts';
import { isFsxError } from '../fsx/backend.ts';
import type { Logger } from '../lib/log.ts';
import type { CustomResourceClient } from '../platform/kube.ts';
import type { EventRecorder } from '../platform/kube-core.ts';
import { type BackendRegistry, BackendUnavailableError } from './backends.ts';
import { type ConditionUpdate, changedConditions, getCondition, setConditions } from './conditions.ts';
import type { ReconcileResult } from './reconcile-loop.ts';

export interface ReconcileContext {
  backends: BackendRegistry;
  defaultBackend: Backend;
  events: EventRecorder;
  log: Logger;
  now: () => Date;
  /** Requeue delay while the backend is working (CREATING, UPDATING, DELETING, …). */
  pollMs: number;
  /** Requeue delay for resources waiting on something slow or broken (FAILED, not found, …). */
  slowPollMs: number;
}

/** The status fields every Nacre resource has. */
export interface StatusBase {
  backend?: Backend;
  lifecycle?: string;
  failureDetails?: { message?: string };
  observedGeneration?: number;
  conditions?: Condition[];
}

export type Managed<S extends StatusBase = StatusBase> = Resource<string, object, S>;

/** The status type of a managed kind. */
export type StatusOf<T> = T extends Managed<infer S> ? S : never;

/**
 * The same client, typed for status writes: CustomResourceClient<T> is invariant in T, so a client of
 * Backups is not a client of Managed<BackupStatus> to the compiler, though it is the same object.
 */
export function statusClientOf<T extends Managed>(
  client: CustomResourceClient<T>,
): CustomResourceClient<Managed<StatusOf<T>>> {
  return client as unknown as CustomResourceClient<Managed<StatusOf<T>>>;
}

export function keyOf(obj: Managed): string {
  return `${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`;
}

/** Idempotency tokens (ClientRequestToken) for the resource's lifetime, or for one generation of its spec. */
export const tokens = {
  create: (obj: Managed) => `nacre-${obj.metadata.uid}`,
  update: (obj: Managed) => `nacre-${obj.metadata.uid}-g${obj.metadata.generation ?? 0}`,
  delete: (obj: Managed) => `nacre-${obj.metadata.uid}-d${obj.metadata.generation ?? 0}`,
};

export function hasFinalizer(obj: Managed): boolean {
  return obj.metadata.finalizers?.includes(FINALIZER) ?? false;
}

/** Adds the finalizer if missing; returns the object as stored. */
export async function ensureFinalizer<T extends Managed>(
  client: CustomResourceClient<T>,
  obj: T,
  signal: AbortSignal,
): Promise<T> {
  if (hasFinalizer(obj)) return obj;
  return client.setFinalizers(obj, [...(obj.metadata.finalizers ?? []), FINALIZER], signal);
}

/** Removes the finalizer if present, letting Kubernetes delete the object. */
export async function releaseFinalizer<T extends Managed>(
  client: CustomResourceClient<T>,
  obj: T,
  signal: AbortSignal,
): Promise<void> {
  if (!hasFinalizer(obj)) return;
  await client.setFinalizers(
    obj,
    (obj.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
    signal,
  );
}

const WARNING_REASONS = new Set([
  'InvalidRequest',
  'Unsupported',
  'IdempotencyConflict',
  'UpdateFailed',
  'UpdateIncomplete',
  'Failed',
  'Misconfigured',
  'NotFound',
  'BackendUnavailable',
  'AccessDenied',
  'LimitExceeded',
  'Throttled',
  'Conflict',
]);

/** The Kubernetes Event for a condition that changed. */
function eventFor(c: Condition): { type: 'Normal' | 'Warning'; reason: string; message: string } {
  const warning = c.status === 'False' && WARNING_REASONS.has(c.reason);
  return {
    type: warning ? 'Warning' : 'Normal',
    reason: c.reason,
    message: `${c.type}=${c.status}: ${c.message}`,
  };
}

/**
 * Writes `next` as the object's status (with observedGeneration), unless nothing changed, and
 * records an Event for each condition whose status or reason changed. Fields of the old status
 * absent from `next` are removed.
 */
export async function writeStatus<S extends StatusBase>(
  ctx: ReconcileContext,
  client: CustomResourceClient<Managed<S>>,
  obj: Managed<S>,
  next: S,
  signal: AbortSignal,
): Promise<void> {
  const old = obj.status ?? ({} as S);
  const status = { ...next, observedGeneration: obj.metadata.generation ?? 0 } as S;
  if (isDeepStrictEqual(old, status)) return;
  const patch: Record<string, unknown> = { ...(status as Record<string, unknown>) };
  for (const k of Object.keys(old)) if (!(k in status)) patch[k] = null;
  await client.patchStatus(obj.metadata.namespace ?? 'default', obj.metadata.name, patch, signal);
  obj.status = status;
  const subject = { ...obj, apiVersion: API_VERSION };
  for (const c of changedConditions(old.conditions, status.conditions)) {
    const e = eventFor(c);
    await ctx.events.record(subject, e.type, e.reason, e.message);
  }
}

/** `status` with the conditions updated for the object's current generation. */
export function withConditions<S extends StatusBase>(
  ctx: ReconcileContext,
  obj: Managed<S>,
  status: S,
  updates: ConditionUpdate[],
): S {
  return {
    ...status,
    conditions: setConditions(
      status.conditions ?? obj.status?.conditions,
      updates,
      obj.metadata.generation,
      ctx.now(),
    ),
  };
}

/** How a failure shows in conditions, and whether it is retried. */
export interface Failure {
  reason: string;
  message: string;
  terminal: boolean;
}

/** The condition form of a backend or configuration failure; undefined for anything else (a bug, Kubernetes trouble). */
export function failureOf(err: unknown): Failure | undefined {
  if (isFsxError(err)) {
    const reason = err.code === 'Transient' ? 'BackendUnavailable' : err.code;
    return { reason, message: `${err.operation}: ${err.fsxCode}: ${err.message}`, terminal: err.terminal };
  }
  if (err instanceof BackendUnavailableError)
    return { reason: 'BackendUnavailable', message: err.message, terminal: false };
  return undefined;
}

/**
 * Runs a reconcile body; a backend failure it throws is written to the status (Synced=False, and
 * Ready=False unless the resource is already usable). Terminal failures then end the reconcile
 * (no retry until the spec changes); others are rethrown for backoff.
 */
export async function reportingFailures<S extends StatusBase>(
  ctx: ReconcileContext,
  client: CustomResourceClient<Managed<S>>,
  obj: Managed<S>,
  signal: AbortSignal,
  body: () => Promise<ReconcileResult>,
): Promise<ReconcileResult> {
  try {
    return await body();
  } catch (err) {
    const f = signal.aborted ? undefined : failureOf(err);
    if (!f) throw err;
    const updates: ConditionUpdate[] = [
      { type: 'Synced', status: 'False', reason: f.reason, message: f.message },
    ];
    if (getCondition(obj.status?.conditions, 'Ready')?.status !== 'True')
      updates.push({ type: 'Ready', status: 'False', reason: f.reason, message: f.message });
    await writeStatus(
      ctx,
      client,
      obj,
      withConditions(ctx, obj, { ...(obj.status ?? ({} as S)) }, updates),
      signal,
    );
    if (f.terminal) {
      ctx.log.warn('the backend refused the spec; waiting for it to change', {
        key: keyOf(obj),
        reason: f.reason,
      });
      return {};
    }
    throw err;
  }
}

/** The backend a resource lives on: recorded in its status, else its spec, else the controller's default. */
export function backendOf(ctx: ReconcileContext, obj: Managed, specBackend: Backend | undefined): Backend {
  return obj.status?.backend ?? specBackend ?? ctx.defaultBackend;
}

/** True when a lifecycle means the backend is still working and the resource should be looked at again soon. */
export function inProgress(lifecycle: string | undefined): boolean {
  return ['CREATING', 'UPDATING', 'DELETING', 'PENDING', 'EXECUTING', 'CANCELING', 'TRANSFERRING'].includes(
    lifecycle ?? '',
  );
}
