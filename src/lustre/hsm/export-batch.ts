// Small files exported with batched MDS calls: opens (with HSM state and layout) and ends of exports of concurrent files go to the MDS together.
import { CallBatcher } from '../../lib/call-batcher.ts';
import { FsError, isErrno } from '../../lib/errors.ts';
import type { ObjectStore } from '../../platform/object-store.ts';
import { untilAborted } from '../client/inode-cache.ts';
import type { LustreClient } from '../client/lustre-client.ts';
import type { BatchOutcome, ExportDoneItem, ExportOpened } from '../protocol/hsm-export-messages.ts';
import { HS_ARCHIVED, HS_DIRTY, HS_RELEASED, type HsmState } from '../protocol/hsm-messages.ts';
import { ROOT_CREDENTIALS } from '../types.ts';
import { keyOfPath, type RepositoryLink } from './importer.ts';
import { formatLocation, formatPosixMetadata, parseLocation } from './posix-metadata.ts';
import type { WalkEntry } from './tree.ts';

/** Files per batched MDS call (the MDS takes up to EXPORT_BATCH_MAX). */
const BATCH = 64;

type Archived = (HsmState & { clean: boolean }) | null;

function unwrap<T>(o: BatchOutcome<T>): T {
  if ('ok' in o) return o.ok;
  throw new FsError(isErrno(o.errno) ? o.errno : 'EIO', o.message);
}

/**
 * The batched export calls of one client: every file being exported through it at the moment
 * shares the MDS round trips (hsmExportOpen, hsmExportDone; one transaction each). The calls carry
 * no caller's signal (each serves many callers): they end by the MDS session's deadlines.
 */
export class ExportBatch {
  readonly #open: CallBatcher<number, BatchOutcome<ExportOpened>>;
  readonly #done: CallBatcher<ExportDoneItem, BatchOutcome<Archived>>;

  constructor(c: LustreClient) {
    this.#open = new CallBatcher((inos) => c.mds.mutate('hsmExportOpen', { cred: ROOT_CREDENTIALS, inos }), {
      maxBatch: BATCH,
    });
    this.#done = new CallBatcher(
      (items) => c.mds.mutate('hsmExportDone', { cred: ROOT_CREDENTIALS, items }),
      { maxBatch: BATCH },
    );
  }

  /** MDS calls sent and files in them, per kind. */
  get stats(): { open: { batches: number; items: number }; done: { batches: number; items: number } } {
    return { open: { ...this.#open.stats }, done: { ...this.#done.stats } };
  }

  /**
   * The file's attributes, HSM state and (when it is to be read) a read handle; FsError for this
   * file's own failure, EINTR once `signal` aborts (a handle opened for it then is closed).
   */
  async open(ino: number, signal: AbortSignal): Promise<ExportOpened> {
    if (signal.aborted) throw new FsError('EINTR', 'export interrupted');
    const pending = this.#open.call(ino);
    try {
      return unwrap(await untilAborted(pending, signal, 'export'));
    } catch (err) {
      // Its answer still comes: a handle opened for a caller who left is closed.
      if (signal.aborted) void pending.then((o) => this.#closeUnwanted(ino, o)).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Closes a handle `open` gave and, with `archived`, records the export as hsmArchived does;
   * FsError for this file's own failure, EINTR once `signal` aborts (the MDS still does it).
   */
  async done(item: ExportDoneItem, signal: AbortSignal): Promise<Archived> {
    return unwrap(await untilAborted(this.#done.call(item), signal, 'export'));
  }

  async #closeUnwanted(ino: number, o: BatchOutcome<ExportOpened>): Promise<void> {
    if ('ok' in o && o.ok.opened) unwrap(await this.#done.call({ ino, handle: o.ok.opened.handle }));
  }
}

const batches = new WeakMap<LustreClient, ExportBatch>();

/** The client's shared ExportBatch (tasks and automatic export through one client batch together). */
export function exportBatchOf(c: LustreClient): ExportBatch {
  let b = batches.get(c);
  if (!b) {
    b = new ExportBatch(c);
    batches.set(c, b);
  }
  return b;
}

/**
 * Exports a regular file whose content goes up in one PUT (at most `putBytes`) with two batched
 * MDS calls: opened for reading with its HSM state, read by its layout, PUT, then its handle closed
 * and its archive recorded in one (the MDS clears DIRTY only if the file still has the mtime and
 * size the open saw and nobody else has it open for writing). true: exported; false: nothing to
 * do (released, or archived and clean at its key); undefined: the caller's unbatched path must
 * take it (archived and clean at another key, a truncate still pending, grown past `putBytes`).
 * A failed upload closes the handle and throws; the file stays as it was.
 */
export async function exportSmallFile(
  c: LustreClient,
  store: ObjectStore,
  link: RepositoryLink,
  e: WalkEntry,
  putBytes: number,
  signal: AbortSignal,
): Promise<boolean | undefined> {
  const batch = exportBatchOf(c);
  const ino = e.attr.ino;
  const { attr, state, opened } = await batch.open(ino, signal);
  if (state.flags & HS_RELEASED) return false;
  const key = keyOfPath(link, e.path);
  if (!opened) {
    const at = parseLocation(state.location);
    const clean = state.flags & HS_ARCHIVED && !(state.flags & HS_DIRTY);
    return clean && at?.key === key && at.bucket === link.bucket ? false : undefined;
  }
  const { handle, layout } = opened;
  if (attr.size > putBytes) {
    await batch.done({ ino, handle }, signal);
    return undefined;
  }
  let etag: string;
  try {
    const body = await c.readByLayout(ino, layout, 0, attr.size, signal);
    etag = await store.put(link.bucket, key, body, formatPosixMetadata(attr), signal);
  } catch (err) {
    await batch.done({ ino, handle }, signal).catch(() => undefined);
    throw err;
  }
  const location = formatLocation({ bucket: link.bucket, key, etag });
  await batch.done(
    {
      ino,
      handle,
      archived: { location, archiveId: 1, asOf: { mtimeMs: attr.mtimeMs, size: attr.size } },
    },
    signal,
  );
  return true;
}
