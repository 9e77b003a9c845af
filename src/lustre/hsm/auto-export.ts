// Automatic export driven by the MDS changelog: new and changed files after their last close, metadata changes, renames (new key, then the old one deleted) and deletions, per AutoExportPolicy.
import { NacreError } from '../../lib/errors.ts';
import type { ObjectStore } from '../../platform/object-store.ts';
import type { LustreClient } from '../client/lustre-client.ts';
import type { ChangeRecord } from '../protocol/changelog-messages.ts';
import { HS_ARCHIVED, HS_DIRTY, HS_RELEASED, type HsmState } from '../protocol/hsm-messages.ts';
import { ROOT_CREDENTIALS, S_IFDIR, S_IFMT, S_IFREG } from '../types.ts';
import { backingOff, type ExportRetry, failed, parkedRetryMs, succeeded } from './export-retry.ts';
import { exportEntry } from './exporter.ts';
import { keyOfPath, type RepositoryLink } from './importer.ts';
import { deleteTree, ParkedRemovals, REMOVAL_FAILED, removalOf } from './parked-removals.ts';
import { formatLocation, formatPosixMetadata, parseLocation } from './posix-metadata.ts';
import { lookupPath, type WalkEntry, walk } from './tree.ts';

/** AutoExportPolicy events. */
export type ExportEvent = 'NEW' | 'CHANGED' | 'DELETED';

/** Records read per call (a call that handled this many may have left more). */
export const CHANGE_BATCH = 500;

/** The changelog user of an association (its cursor is the association's). */
export const changelogUser = (associationId: string) => `dra:${associationId}`;

/** Registers the association's changelog user (from now on, changes are kept until it has handled them). */
export async function registerAutoExport(c: LustreClient, user: string, signal: AbortSignal): Promise<void> {
  await c.mds.call('changelogRegister', { cred: ROOT_CREDENTIALS, user }, signal);
}

/** Forgets the association's changelog user (its records go). */
export async function deregisterAutoExport(
  c: LustreClient,
  user: string,
  signal: AbortSignal,
): Promise<void> {
  await c.mds.call('changelogDeregister', { cred: ROOT_CREDENTIALS, user }, signal);
}

const inside = (link: RepositoryLink, path: string | undefined): path is string =>
  path !== undefined && (link.fsPath === '/' || path === link.fsPath || path.startsWith(`${link.fsPath}/`));

/**
 * Handles the changes recorded for `user` since its cursor, in order, and moves the cursor past
 * each one handled: a failure leaves the cursor before the failed change (the next call tries it
 * again), so no change is lost across a restart of the agent or of the MDS. With `retry`, a change
 * that keeps failing is retried with backoff and then parked (see ExportRetry) instead of holding
 * back the association's later changes forever. Independent changes (see nextRun) are handled up
 * to 32 at once, their outcomes taken in order. Returns how many changes were handled.
 */
export async function exportChanges(
  c: LustreClient,
  store: ObjectStore,
  link: RepositoryLink,
  events: readonly ExportEvent[],
  user: string,
  signal: AbortSignal,
  retry?: ExportRetry,
): Promise<number> {
  const now = retry?.now ?? Date.now;
  if (retry) retry.removals ??= new ParkedRemovals(user);
  const parked = retry?.removals;
  if (retry && parked) {
    await parked.load(c, signal);
    if (parked.size > 0 && (retry.parkedDueAt ?? 0) <= now()) {
      // S3 removals given up on earlier (S3 was down): done now where their paths are still free.
      const left = await parked.retry(c, store, link, signal);
      retry.parkedDueAt = left > 0 ? now() + parkedRetryMs(retry) : Number.POSITIVE_INFINITY;
    }
  }
  const records = await c.mds.call('changelogRead', { user, limit: CHANGE_BATCH }, signal);
  let handled = 0;
  try {
    while (handled < records.length) {
      const run = nextRun(records, handled, retry);
      if (run.length === 0) break; // the next change waits out its backoff
      const outcomes = await Promise.all(
        run.map((r) =>
          r.agent
            ? undefined
            : handle(c, store, link, events, r, signal).then(
                () => undefined,
                (err: unknown) => ({ err }),
              ),
        ),
      );
      let stop = false;
      for (const [k, r] of run.entries()) {
        parked?.forgetMentioned(r);
        const failure = outcomes[k];
        if (failure) {
          if (!retry || !parked || signal.aborted) throw failure.err;
          const removal = removalOf(link, events.includes('DELETED'), r, failure.err);
          const keep = removal && (async () => parked.add(removal));
          stop = (await failed(c, retry, r, failure.err, signal, keep)) === 'retry';
          if (stop) break;
        } else if (retry && !r.agent) succeeded(retry, r);
        handled++;
      }
      if (stop) break;
    }
  } finally {
    // The parked removals as of the changes handled, before the cursor moves past them.
    if (handled > 0) {
      await parked?.save(c, signal);
      await c.mds.call('changelogClear', { user, upTo: records[handled - 1]!.seq }, signal);
    }
  }
  return handled;
}

/** Changes handled at once (a run of creations, closes and attribute changes of different paths). */
const RUN = 32;

/**
 * The changes from `from` on that may be handled at once: a rename or a removal alone (they
 * depend on what came before: a create before its rename); else creations, closes and attribute
 * changes up to the next rename or removal, one per path (two changes of one file stay in order).
 * Empty when the first change is waiting out its backoff; a run ends before a change that is.
 */
function nextRun(
  records: readonly ChangeRecord[],
  from: number,
  retry: ExportRetry | undefined,
): ChangeRecord[] {
  const run: ChangeRecord[] = [];
  const paths = new Set<string>();
  for (let i = from; i < records.length && run.length < RUN; i++) {
    const r = records[i]!;
    if (!r.agent && retry && backingOff(retry, r)) break;
    const alone = r.type === 'RENME' || r.type === 'UNLNK' || r.type === 'RMDIR';
    if (alone && run.length > 0) break;
    if (paths.has(r.path)) break;
    run.push(r);
    paths.add(r.path);
    if (alone) break;
  }
  return run;
}

async function handle(
  c: LustreClient,
  store: ObjectStore,
  link: RepositoryLink,
  events: readonly ExportEvent[],
  r: ChangeRecord,
  signal: AbortSignal,
): Promise<void> {
  const deleting = events.includes('DELETED');
  if (r.type === 'UNLNK' || r.type === 'RMDIR') {
    if (deleting && inside(link, r.path) && r.path !== link.fsPath)
      await store.delete(link.bucket, keyOfPath(link, r.path, r.type === 'RMDIR'), signal);
    return;
  }
  if (r.type === 'RENME') {
    // The new name first, so the data is never only under a deleted key.
    if (inside(link, r.path) && (events.includes('NEW') || events.includes('CHANGED'))) {
      const attr = await lookupPath(c, r.path, signal);
      if (attr) await moveTree(c, store, link, { path: r.path, attr }, signal);
    }
    if (deleting && inside(link, r.oldPath) && r.oldPath !== link.fsPath)
      await deleteTree(store, link, r.oldPath, signal).catch((err: unknown) => {
        throw new NacreError(REMOVAL_FAILED, `removing the old keys of ${r.oldPath}: ${String(err)}`, {
          cause: err,
        });
      });
    return;
  }
  if (!inside(link, r.path)) return;
  if (r.type === 'SATTR' && !events.includes('CHANGED')) return;
  const attr = await lookupPath(c, r.path, signal);
  if (!attr) return;
  const e = { path: r.path, attr };
  if (r.type === 'SATTR') await exportAttrs(c, store, link, events, e, signal);
  else await exportIfDue(c, store, link, events, e, signal);
}

/**
 * SATTR (chmod, chown, utimes, truncate): a file whose content is in S3 gets its new metadata there
 * by a CopyObject onto itself with REPLACE metadata, as FSx does; a dirty one is exported whole
 * (after its last close); a directory or symlink is written again with its metadata.
 */
async function exportAttrs(
  c: LustreClient,
  store: ObjectStore,
  link: RepositoryLink,
  events: readonly ExportEvent[],
  e: WalkEntry,
  signal: AbortSignal,
): Promise<void> {
  if (await rewrittenOrCopied(c, store, link, e, true, signal))
    await exportIfDue(c, store, link, events, e, signal);
}

/**
 * What a metadata change and a move start with: a directory or symlink is written again, a file
 * whose content is the archived object is copied by S3 (see copyArchived); both return undefined.
 * Any other regular file is left to the caller, with its HSM state.
 */
async function rewrittenOrCopied(
  c: LustreClient,
  store: ObjectStore,
  link: RepositoryLink,
  e: WalkEntry,
  sameKey: boolean,
  signal: AbortSignal,
): Promise<(HsmState & { open: boolean }) | undefined> {
  if ((e.attr.mode & S_IFMT) !== S_IFREG) {
    await exportEntry(c, store, link, e, {}, signal);
    return undefined;
  }
  const st = await c.mds.call('hsmState', { ino: e.attr.ino }, signal);
  return (await copyArchived(c, store, link, e, st, sameKey, signal)) ? undefined : st;
}

/**
 * A file whose content is the archived object (clean, or released) is copied by S3 to its key with
 * its current metadata (`sameKey`: also onto itself), and its location follows; false when it is
 * not such a file (or already at its key and `sameKey` is false).
 */
async function copyArchived(
  c: LustreClient,
  store: ObjectStore,
  link: RepositoryLink,
  e: WalkEntry,
  st: HsmState,
  sameKey: boolean,
  signal: AbortSignal,
): Promise<boolean> {
  const loc = parseLocation(st.location);
  const key = keyOfPath(link, e.path);
  const archivedClean = st.flags & HS_ARCHIVED && (!(st.flags & HS_DIRTY) || st.flags & HS_RELEASED);
  if (!archivedClean || !loc || loc.bucket !== link.bucket || (loc.key === key && !sameKey)) return false;
  // Released, or clean: its content is the archived object; S3 copies it (a released file has nothing to read here).
  const etag = await store.copy(link.bucket, loc.key, key, formatPosixMetadata(e.attr), signal);
  await c.mds.mutate(
    'hsmSet',
    {
      cred: ROOT_CREDENTIALS,
      ino: e.attr.ino,
      set: HS_ARCHIVED,
      clear: 0,
      archiveId: 1,
      location: formatLocation({ bucket: link.bucket, key, etag }),
    },
    signal,
  );
  return true;
}

/** CREAT or CLOSE: a new entry (NEW) or a changed closed file (CHANGED) is exported; a file still open waits for its last close. */
async function exportIfDue(
  c: LustreClient,
  store: ObjectStore,
  link: RepositoryLink,
  events: readonly ExportEvent[],
  e: WalkEntry,
  signal: AbortSignal,
): Promise<void> {
  if ((e.attr.mode & S_IFMT) !== S_IFREG) {
    if (events.includes('NEW')) await exportEntry(c, store, link, e, {}, signal);
    return;
  }
  const st = await c.mds.call('hsmState', { ino: e.attr.ino }, signal);
  if (st.open || st.flags & HS_RELEASED) return;
  const isNew = !(st.flags & HS_ARCHIVED);
  if (isNew ? !events.includes('NEW') : !(st.flags & HS_DIRTY) || !events.includes('CHANGED')) return;
  await exportEntry(c, store, link, e, {}, signal);
}

/** A renamed entry under its new key: a directory with everything in it; a file whose content is in S3 already is copied there. */
async function moveTree(
  c: LustreClient,
  store: ObjectStore,
  link: RepositoryLink,
  top: WalkEntry,
  signal: AbortSignal,
): Promise<void> {
  await moveOne(c, store, link, top, signal);
  if ((top.attr.mode & S_IFMT) === S_IFDIR)
    for await (const e of walk(c, top, signal)) await moveOne(c, store, link, e, signal);
}

async function moveOne(
  c: LustreClient,
  store: ObjectStore,
  link: RepositoryLink,
  e: WalkEntry,
  signal: AbortSignal,
): Promise<void> {
  const st = await rewrittenOrCopied(c, store, link, e, false, signal);
  // A file open for writing is left to its CLOSE, which exports it under the new name.
  if (st && !st.open) await exportEntry(c, store, link, e, {}, signal);
}
