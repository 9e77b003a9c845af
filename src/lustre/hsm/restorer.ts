// Lazy load: the HSM agent's restore loop for one file system — long-polls the MDS, loads released files from S3 into their OST objects.
import { setTimeout as sleep } from 'node:timers/promises';
import { FsError } from '../../lib/errors.ts';
import { type Logger, logger } from '../../lib/log.ts';
import { isObjectStoreError, type ObjectStore, ObjectStoreError } from '../../platform/object-store.ts';
import { isRangePresigner } from '../../platform/s3-presign.ts';
import type { LustreClient } from '../client/lustre-client.ts';
import { FetchFailedError } from '../client/striped-fetch.ts';
import type { RestoreRequest } from '../protocol/hsm-messages.ts';
import type { FetchFailure } from '../protocol/oss-messages.ts';
import { ROOT_CREDENTIALS } from '../types.ts';
import { type ArchiveLocation, parseLocation } from './posix-metadata.ts';

export interface RestoreOptions {
  /** Bytes per ranged GET, the piece a reader waits for (default 8 MiB). */
  partBytes?: number;
  /** Ranged GETs in flight per file (default 8). */
  concurrency?: number;
  /** Attempts per GET while S3 is unavailable (default 3; backoff 200 ms doubling). */
  attempts?: number;
  /** Files restored at once (default 4). */
  files?: number;
  /**
   * Whether the OSSes fetch the pieces from S3 themselves with GETs the agent presigns (default
   * true, when the store can presign): the bytes then never pass through the agent. False: the
   * agent GETs each piece and writes it to the OSTs.
   */
  ossFetch?: boolean;
}

/** Deadline of one piece's GET (ms); a presigned GET is valid a while longer. */
const GET_MS = 120_000;
const PRESIGNED_FOR_S = 900;

const O_WRONLY = 0o1;

/**
 * Loads one released file into its own stripes, piece by piece: `concurrency` workers each ask the
 * MDS which piece to load next (those readers wait for first), GET that range, write it, and report
 * it with their next question, so a reader goes on as soon as its range is written. After the last
 * piece the file is synced; the MDS clears RELEASED only after that (hsmRestoreDone), so a partial
 * load is never taken for complete. An object that changed since import (ETag) or vanished fails
 * the restore; ESTALE from the MDS means the restore was handed to another agent (stop quietly).
 */
export async function restoreFile(
  c: LustreClient,
  store: ObjectStore,
  req: RestoreRequest,
  opts: RestoreOptions,
  signal: AbortSignal,
): Promise<void> {
  const loc = parseLocation(req.location);
  if (!loc) throw new Error(`inode ${req.ino} has no archive location`);
  const { size } = await c.getattr(req.ino, signal);
  const chunkBytes = opts.partBytes ?? 8 * 1024 * 1024;
  const attempts = opts.attempts ?? 3;
  const handle = await c.open(ROOT_CREDENTIALS, req.ino, O_WRONLY, signal);
  // One worker failing stops the others (their pieces go to the next agent).
  const failed = new AbortController();
  signal = AbortSignal.any([signal, failed.signal]);
  // A URL cannot name a key with "." or ".." segments (they are resolved away): the agent GETs those.
  const urlSafe = !loc.key.split('/').some((part) => part === '.' || part === '..');
  const presigner = opts.ossFetch !== false && urlSafe && isRangePresigner(store) ? store : undefined;
  /** Loads one piece into the file; resolves with the bytes S3 had for it. */
  const loadPiece = async (offset: number, length: number): Promise<number> => {
    if (presigner) {
      const sourceOf = (o: number, l: number) =>
        presigner.presignRange(loc.bucket, loc.key, o, l, loc.etag, PRESIGNED_FOR_S);
      return c.fetchRange(handle, offset, length, sourceOf, GET_MS, signal).catch((err: unknown) => {
        throw err instanceof FetchFailedError ? storeError(err.failure, loc) : err;
      });
    }
    const data = await store.getRange(loc.bucket, loc.key, offset, length, signal, loc.etag || undefined);
    if (data.length === length) await c.write(handle, offset, data, signal);
    return data.length;
  };
  const ask = (loaded: number[]) =>
    c.mds.call('hsmLoadNext', { ino: req.ino, token: req.token, size, chunkBytes, loaded }, signal);
  try {
    const worker = async () => {
      try {
        await load();
      } catch (err) {
        failed.abort(err);
        throw err;
      }
    };
    const load = async () => {
      for (let piece = await ask([]); piece !== null; ) {
        const offset = piece * chunkBytes;
        const length = Math.min(chunkBytes, size - offset);
        const got = await withRetries(attempts, signal, () => loadPiece(offset, length));
        if (got !== length)
          throw new Error(
            `s3://${loc.bucket}/${loc.key} is shorter than the file (${offset + got} < ${size} bytes)`,
          );
        piece = await ask([piece]);
      }
    };
    const workers = Math.max(1, Math.min(opts.concurrency ?? 8, Math.ceil(size / chunkBytes)));
    const outcomes = await Promise.allSettled(Array.from({ length: workers }, worker));
    const failure = outcomes.find((o) => o.status === 'rejected');
    // The first failure, not what it made of the others' calls (EINTR).
    if (failure) throw failed.signal.aborted ? failed.signal.reason : failure.reason;
    await c.fsync(handle, false, signal);
  } finally {
    await c.release(handle, AbortSignal.timeout(30_000));
  }
}

/** The ObjectStoreError for an OSS's failed GET (a 412: the object changed since it was imported). */
function storeError(f: FetchFailure, loc: ArchiveLocation): ObjectStoreError {
  if (f.kind === 'Changed')
    return new ObjectStoreError(
      'Invalid',
      `s3://${loc.bucket}/${loc.key} changed since it was imported (its ETag is no longer ${loc.etag}); import it again`,
    );
  return new ObjectStoreError(f.kind, f.message);
}

async function withRetries<T>(attempts: number, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (signal.aborted || i >= attempts || !isObjectStoreError(err, 'Unavailable')) throw err;
      await sleep(200 * 2 ** (i - 1), undefined, { signal });
    }
  }
}

/**
 * The restore loop of one file system: polls the MDS for work until `signal` aborts, restoring up
 * to `files` at once, and reports each outcome (error text → EIO for the waiting openers).
 */
export async function runRestorer(
  c: LustreClient,
  store: ObjectStore,
  opts: RestoreOptions,
  signal: AbortSignal,
  log: Logger = logger('hsm-agent'),
): Promise<void> {
  const running = new Set<Promise<void>>();
  while (!signal.aborted) {
    let req: RestoreRequest | null;
    try {
      req = await c.mds.call('hsmAgentPoll', { timeoutMs: 20_000 }, signal);
    } catch (err) {
      if (signal.aborted) break;
      log.warn('HSM agent poll failed; retrying', { error: String(err) });
      await sleep(1000, undefined, { signal }).catch(() => {});
      continue;
    }
    if (!req) continue;
    const r = req;
    const started = Date.now();
    const p = (async () => {
      let error: string | null = null;
      let mtimeMs: number | null = null;
      try {
        mtimeMs = (await c.getattr(r.ino, signal)).mtimeMs;
        await restoreFile(c, store, r, opts, signal);
        log.debug('restored', { ino: r.ino, ms: Date.now() - started });
      } catch (err) {
        // Stopped, or the restore went to another agent: not a failure of the load (the MDS hands it out again).
        if (signal.aborted || (err instanceof FsError && err.code === 'ESTALE')) {
          log.info('restore left to another agent', { ino: r.ino, error: String(err) });
          return;
        }
        error = err instanceof Error ? err.message : String(err);
        log.warn('restore failed', { ino: r.ino, error });
      }
      await c.mds
        .mutate('hsmRestoreDone', { ino: r.ino, error, mtimeMs, token: r.token }, AbortSignal.timeout(30_000))
        .catch((err: unknown) => {
          log.warn('could not report a restore', { ino: r.ino, error: String(err) });
        });
    })().finally(() => running.delete(p));
    running.add(p);
    if (running.size >= (opts.files ?? 4)) await Promise.race(running);
  }
  await Promise.allSettled(running);
}
