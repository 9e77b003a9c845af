// Small files exported with batched MDS calls: opens (with HSM state and layout) and ends of exports of concurrent files go to the MDS together.
import { setTimeout as sleep } from 'node:timers/promises';
import { CallBatcher } from '../../lib/call-batcher.ts';
import { FsError, isErrno } from '../../lib/errors.ts';
import { logger } from '../../lib/log.ts';
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
/** Tries at closing alone a handle whose batched close failed; each under a deadline of its own. */
const CLOSE_ALONE_TRIES = 3;
const CLOSE_ALONE_DEADLINE_MS = 90_000;
const log = logger('hsm-agent');

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
  readonly #c: LustreClient;
  readonly #open: CallBatcher<number, BatchOutcome<ExportOpened>>;
  readonly #done: CallBatcher<ExportDoneItem, BatchOutcome<Archived>>;

  constructor(c: LustreClient) {
    this.#c = c;
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
    return unwrap(await untilAborted(this.#end(item), signal, 'export'));
  }

  async #closeUnwanted(ino: number, o: BatchOutcome<ExportOpened>): Promise<void> {
    if ('ok' in o && o.ok.opened) unwrap(await this.#end({ ino, handle: o.ok.opened.handle }));
  }

  /**
   * The item's batched end; when the whole batch call fails (MDS away past the session's retry
   * deadline, a rejected call), its handle is closed again on its own before the batch's error is
   * passed on (the file is not archived): a handle left open would block hsm_release of the file
   * until the agent's session ends. Runs to the end even after the caller has left.
   */
  #end(item: ExportDoneItem): Promise<BatchOutcome<Archived>> {
    return this.#done.call(item).catch(async (err: unknown) => {
      if (item.handle !== undefined) await this.#closeAlone(item.ino, item.handle, err);
      throw err;
    });
  }

  /** `release` of one export handle, retried; EBADF: it is closed already (the batch did it, its reply lost). */
  async #closeAlone(ino: number, handle: number, batchError: unknown): Promise<void> {
    for (let tries = 1; ; tries++) {
      if (this.#c.mds.closed) return; // the session's end closes its handles on the MDS
      try {
        await this.#c.mds.mutate('release', { handle }, AbortSignal.timeout(CLOSE_ALONE_DEADLINE_MS));
        return;
      } catch (err) {
        if (err instanceof FsError && err.code === 'EBADF') return;
        if (tries >= CLOSE_ALONE_TRIES || this.#c.mds.closed) {
          log.warn('an export handle stays open on the MDS until this session ends', {
            ino,
            handle,
            batchError: String(batchError),
            error: String(err),
          });
          return;
        }
        await sleep(200 * 4 ** (tries - 1));
      }
    }
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
 * and its archive recorded in one (the MDS clears DIRTY only if the file still has the mtime, size
 * and data version the open saw and nobody else has it open for writing). true: exported; false: nothing to
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
  const { attr, state, dataVersion, opened } = await batch.open(ino, signal);
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
      archived: {
        location,
        archiveId: 1,
        asOf: { mtimeMs: attr.mtimeMs, size: attr.size, dataVersion },
      },
    },
    signal,
  );
  return true;
}
