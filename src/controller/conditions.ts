// Status conditions (Ready, Synced) as metav1.Condition: setting them without churn, reading them, and the terminal-failure rule.
import type { Condition } from '../api/index.ts';

export type ConditionType = 'Ready' | 'Synced';
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface ConditionUpdate {
  type: ConditionType;
  status: ConditionStatus;
  /** One PascalCase word. */
  reason: string;
  message: string;
}

/**
 * Reasons of a Synced=False condition that mean the backend refused the spec as written: the
 * controller does not try again until the spec changes (metadata.generation moves on).
 */
export const TERMINAL_REASONS: ReadonlySet<string> = new Set([
  'InvalidRequest',
  'Unsupported',
  'IdempotencyConflict',
  'UpdateFailed',
  'UpdateIncomplete',
]);

export function getCondition(
  conditions: readonly Condition[] | undefined,
  type: ConditionType,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: ConditionType): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

/**
 * `conditions` with `update` applied. lastTransitionTime moves only when the status changes; the
 * other conditions keep their order.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  generation: number | undefined,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === update.type);
  const old = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message: update.message,
    lastTransitionTime: old && old.status === update.status ? old.lastTransitionTime : now.toISOString(),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

/** Applies several updates in order. */
export function setConditions(
  conditions: readonly Condition[] | undefined,
  updates: readonly ConditionUpdate[],
  generation: number | undefined,
  now: Date,
): Condition[] {
  return updates.reduce<Condition[]>(
    (acc, u) => setCondition(acc, u, generation, now),
    [...(conditions ?? [])],
  );
}

/**
 * True when the backend refused this very generation of the spec: Synced is False with a terminal
 * reason observed at `generation`.
 */
export function refusedAtGeneration(
  conditions: readonly Condition[] | undefined,
  generation: number | undefined,
): boolean {
  const synced = getCondition(conditions, 'Synced');
  return (
    synced !== undefined &&
    synced.status === 'False' &&
    TERMINAL_REASONS.has(synced.reason) &&
    synced.observedGeneration === generation
  );
}

/** The condition changes worth an Event: a Ready or Synced condition whose status or reason changed. */
export function changedConditions(
  before: readonly Condition[] | undefined,
  after: readonly Condition[] | undefined,
): Condition[] {
  return (after ?? []).filter((c) => {
    const old = before?.find((o) => o.type === c.type);
    return !old || old.status !== c.status || old.reason !== c.reason;
  });
}
