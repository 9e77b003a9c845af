// Lazy load: the HSM agent's restore loop for one file system — long-polls the MDS, loads released files from S3 into their OST objects.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger, logger } from '../../lib/log.ts';
import { isObjectStoreError, type ObjectStore } from '../../platform/object-store.ts';
import type { LustreClient } from '../client/lustre-client.ts';
import type { RestoreRequest } from '../protocol/hsm-messages.ts';
import { ROOT_CREDENTIALS } from '../types.ts';
import { parseLocation } from './posix-metadata.ts';
import { pool } from './tree.ts';

export interface RestoreOptions {
  /** Bytes per ranged GET (default 8 MiB). */
  partBytes?: number;
  /** Ranged GETs in flight per file (default 8). */
  concurrency?: number;
  /** Attempts per GET while S3 is unavailable (default 3; backoff 200 ms doubling). */
  attempts?: number;
  /** Files restored at once (default 4). */
  files?: number;
}

const O_WRONLY = 0o1;

/**
 * Loads one released file: every byte range from its archived object, written to the file's own
 * stripes, then synced; the MDS clears RELEASED only after that (so a partial load is never
 * served). An object that changed since import (ETag) or vanished fails the restore.
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
  const attr = await c.getattr(req.ino, signal);
  const part = opts.partBytes ?? 8 * 1024 * 1024;
  const attempts = opts.attempts ?? 3;
  const handle = await c.open(ROOT_CREDENTIALS, req.ino, O_WRONLY, signal);
  try {
    const ranges = Array.from({ length: Math.ceil(attr.size / part) }, (_, i) => i * part);
    await pool(ranges, opts.concurrency ?? 8, async (offset) => {
      const length = Math.min(part, attr.size - offset);
      const data = await withRetries(attempts, signal, () =>
        store.getRange(loc.bucket, loc.key, offset, length, signal),
      );
      if (data.length !== length)
        throw new Error(
          `s3://${loc.bucket}/${loc.key} is shorter than the file (${offset + data.length} < ${attr.size} bytes)`,
        );
      await c.write(handle, offset, data, signal);
    });
    await c.fsync(handle, false, signal);
  } finally {
    await c.release(handle, signal);
  }
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
        error = err instanceof Error ? err.message : String(err);
        log.warn('restore failed', { ino: r.ino, error });
      }
      await c.mds
        .mutate('hsmRestoreDone', { ino: r.ino, error, mtimeMs }, AbortSignal.timeout(30_000))
        .catch((err: unknown) => {
          log.warn('could not report a restore', { ino: r.ino, error: String(err) });
        });
    })().finally(() => running.delete(p));
    running.add(p);
    if (running.size >= (opts.files ?? 4)) await Promise.race(running);
  }
  await Promise.allSettled(running);
}
