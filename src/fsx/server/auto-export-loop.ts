// Automatic export of one file system: waits on its MDS changelog (a long poll) and runs its associations' changes, retrying a failing one with backoff.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../lib/log.ts';
import type { LustreClient } from '../../lustre/client/lustre-client.ts';
import {
  CHANGE_BATCH,
  changelogUser,
  type ExportEvent,
  exportChanges,
  registerAutoExport,
} from '../../lustre/hsm/auto-export.ts';
import type { ExportRetry } from '../../lustre/hsm/export-retry.ts';
import type { RepositoryLink } from '../../lustre/hsm/importer.ts';
import type { ObjectStore } from '../../platform/object-store.ts';
import type { DataRepositoryAssociation } from './repository-model.ts';

export interface AutoExportLoopOptions {
  client: Promise<LustreClient>;
  store: ObjectStore;
  /** The AVAILABLE associations with an automatic export policy, as they are now. */
  associations: () => readonly DataRepositoryAssociation[];
  /** Associations whose changelog user this process registered. */
  registered: Set<string>;
  /** Runs work on the file system's agent chain (one piece of import or export work at a time). */
  enqueue: (work: (c: LustreClient, signal: AbortSignal) => Promise<void>) => Promise<void>;
  linkOf: (a: DataRepositoryAssociation) => RepositoryLink;
  eventsOf: (a: DataRepositoryAssociation) => ExportEvent[];
  /** Attempts and first backoff of a failing change (ExportRetry's defaults: 5, 1 s). */
  retry?: Pick<ExportRetry, 'attempts' | 'backoffMs'>;
  /** A change given up on after its attempts (its file stays dirty), for a metric. */
  onParked?: (associationId: string) => void;
  /** Longest single wait on the changelog (ms, default 20 s; the MDS allows 25 s). */
  waitMs?: number;
  log: Logger;
  signal: AbortSignal;
}

/**
 * Runs until `signal` aborts: waits for the MDS to say the changelog grew (or for a failing
 * change's retry to come due), then hands every association's new changes to the agent chain.
 * Nothing is polled while nothing changes; a change made while this process was down is in the
 * log (each association has its cursor) and is handled at the first round.
 */
export async function runAutoExport(o: AutoExportLoopOptions): Promise<void> {
  const retries = new Map<string, ExportRetry>();
  const retryOf = (a: DataRepositoryAssociation): ExportRetry => {
    let r = retries.get(a.AssociationId);
    if (!r) {
      const id = a.AssociationId;
      r = {
        ...o.retry,
        failed: (rec, error, attempt, inMs) =>
          o.log.warn('automatic export of a change failed; retrying', {
            associationId: id,
            change: rec.type,
            path: rec.path,
            attempt,
            retryInMs: inMs,
            error: String(error),
          }),
        parked: (rec, error, removalKept) => {
          const what =
            removalKept === undefined
              ? 'its file stays dirty: an EXPORT_TO_REPOSITORY task or its next change exports it'
              : removalKept
                ? 'its S3 removal is kept and retried until S3 takes it'
                : 'too many S3 removals are waiting already: its key stays in S3 until removed by hand';
          o.log.error(`automatic export gave up on a change; ${what}`, {
            associationId: id,
            change: rec.type,
            path: rec.path,
            error: String(error),
          });
          o.onParked?.(id);
        },
      };
      retries.set(a.AssociationId, r);
    }
    return r;
  };
  const nextRetryMs = () => {
    const at = [...retries.values()].flatMap((r) => [
      r.failing?.retryAt ?? Number.NaN,
      r.parkedDueAt ?? Number.NaN,
    ]);
    const due = at.filter(Number.isFinite).map((t) => t - Date.now());
    return due.length > 0 ? Math.max(0, Math.min(...due)) : undefined;
  };
  let seen = -1;
  while (!o.signal.aborted) {
    let last: number;
    const retryIn = nextRetryMs();
    try {
      const c = await o.client;
      const waitMs = Math.min(o.waitMs ?? 20_000, retryIn ?? Number.POSITIVE_INFINITY);
      last = await c.mds.call('changelogWait', { after: seen, waitMs }, o.signal);
    } catch (err) {
      if (o.signal.aborted) break;
      o.log.warn('waiting on the changelog failed; trying again', { error: String(err) });
      await sleep(1000, undefined, { signal: o.signal }).catch(() => {});
      continue;
    }
    const retryDue = (nextRetryMs() ?? 1) <= 0;
    if (last === seen && !retryDue) continue;
    seen = last;
    let done = false;
    await o.enqueue(async (c, signal) => {
      for (const a of o.associations()) {
        const user = changelogUser(a.AssociationId);
        if (!o.registered.has(a.AssociationId)) {
          await registerAutoExport(c, user, signal);
          o.registered.add(a.AssociationId);
        }
        const [link, events, retry] = [o.linkOf(a), o.eventsOf(a), retryOf(a)];
        while ((await exportChanges(c, o.store, link, events, user, signal, retry)) >= CHANGE_BATCH);
      }
      done = true;
    });
    if (!done && !o.signal.aborted) {
      // (The chain logged why: the MDS or S3 unreachable.) Again in a second, changes or not.
      seen = -1;
      await sleep(1000, undefined, { signal: o.signal }).catch(() => {});
    }
  }
}
