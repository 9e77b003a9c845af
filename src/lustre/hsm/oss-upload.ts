// Export by the OSSes: a large file's parts go to S3 straight from the OSTs holding them, as UploadParts the agent presigns.
import { setTimeout as sleep } from 'node:timers/promises';
import { type ObjectStore, ObjectStoreError } from '../../platform/object-store.ts';
import { isUploadPresigner, type UploadedPart, type UploadPresigner } from '../../platform/s3-presign.ts';
import type { LustreClient } from '../client/lustre-client.ts';
import { FetchFailedError } from '../client/striped-fetch.ts';
import type { FileHandle } from '../types.ts';

/**
 * Which files' bytes the OSSes send themselves, when the store can presign: `large` (the default)
 * those going up in parts, `all` also files of one part (a PutObject), `none`: the agent sends all.
 */
export type OssUpload = 'none' | 'large' | 'all';

export interface OssUploadOptions {
  ossUpload?: OssUpload;
  /** Part size (the export's multipartBytes). */
  partBytes: number;
  /** Parts in flight per file. */
  partConcurrency: number;
}

/** Deadline of one part's PUT (ms); its presigned URL is valid a while longer. */
const PUT_MS = 120_000;
const PRESIGNED_FOR_S = 900;
/** Attempts per part while S3 is unavailable (as the agent's own uploads: the SDK's two). */
const ATTEMPTS = 2;
/** Attempts per part while its bytes change between their checksum and their PUT (a writer at work). */
const CHANGED_ATTEMPTS = 3;

/**
 * Uploads bytes [0, size) of the open file as s3://bucket/key with user metadata `meta`, each part
 * sent by the OSS holding it (a readable copy, as a read picks it), and resolves with the object's
 * ETag; a file of one part (with `ossUpload: 'all'`) goes as one presigned PutObject. Resolves
 * with undefined, having sent nothing, when this path does not apply: `ossUpload` leaves the file
 * to the agent, the store cannot presign, the key has `.`/`..` segments (no URL can name it), or a
 * part would span more than one object range (stripe units smaller than a part); the agent then
 * uploads the bytes itself. A part that fails (after a second attempt while S3 is unavailable,
 * or a third while its bytes change between checksum and PUT) aborts the upload and rejects: with ObjectStoreError for S3's answer, as the
 * agent's own upload would, or as a read does when no copy's OSS answers (EIO).
 */
export async function uploadByOss(
  c: LustreClient,
  store: ObjectStore,
  bucket: string,
  key: string,
  size: number,
  handle: FileHandle,
  meta: Record<string, string>,
  opts: OssUploadOptions,
  signal: AbortSignal,
): Promise<string | undefined> {
  const { partBytes } = opts;
  const which = opts.ossUpload ?? 'large';
  if (which === 'none' || !isUploadPresigner(store) || size === 0) return undefined;
  if (size <= partBytes && which !== 'all') return undefined;
  if (key.split('/').some((part) => part === '.' || part === '..')) return undefined;
  const uploader = await c.stripeUploader(handle, signal);
  const count = Math.ceil(size / partBytes);
  const part = (i: number) => ({ offset: i * partBytes, length: Math.min(partBytes, size - i * partBytes) });
  if (
    !uploader ||
    !Array.from({ length: count }, (_, i) => part(i)).every((p) => uploader.sendable(p.offset, p.length))
  )
    return undefined;
  if (size <= partBytes) {
    const destOf = (crc32: string) => store.presignPut(bucket, key, size, crc32, meta, PRESIGNED_FOR_S);
    return (await withRetry(signal, () => uploader.send(0, size, destOf, PUT_MS, signal))).etag;
  }
  const uploadId = await store.createMultipart(bucket, key, meta, signal);
  // One part failing stops the others from starting or retrying; the parts in flight run to their
  // end (bounded by PUT_MS: the OSS's PUT deadline, which its call's deadline follows), so that the
  // abort below comes after them: a part PUT still running on an OSS could land after the abort
  // (AWS then stores and bills it).
  const failed = new AbortController();
  const s = AbortSignal.any([signal, failed.signal]);
  const parts: UploadedPart[] = new Array(count);
  let next = 0;
  const sendPart = async (i: number) => {
    const { offset, length } = part(i);
    const destOf = (crc32: string) =>
      store.presignPart(bucket, key, uploadId, i + 1, length, crc32, PRESIGNED_FOR_S);
    return withRetry(s, () => uploader.send(offset, length, destOf, PUT_MS, signal));
  };
  const worker = async () => {
    while (next < count && !s.aborted) {
      const i = next++;
      try {
        parts[i] = await sendPart(i);
      } catch (err) {
        failed.abort(err);
        throw err;
      }
    }
  };
  try {
    const workers = Math.max(1, Math.min(opts.partConcurrency, count));
    await Promise.allSettled(Array.from({ length: workers }, worker));
    signal.throwIfAborted();
    // The first failure, not what it made of the others' calls.
    if (failed.signal.aborted) throw failed.signal.reason;
    return await store.completeMultipart(bucket, key, uploadId, parts, signal);
  } catch (err) {
    await abortQuietly(store, bucket, key, uploadId);
    // Cancelled: the parts in flight were left running on their OSSes; abort again once their PUTs' deadline has passed.
    if (signal.aborted)
      setTimeout(() => void abortQuietly(store, bucket, key, uploadId), PUT_MS + 5_000).unref();
    throw err;
  }
}

/** AbortMultipartUpload whose own failure is dropped: the error the caller gets is the one that made the upload stop. */
async function abortQuietly(
  store: UploadPresigner,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<void> {
  await store.abortMultipart(bucket, key, uploadId, AbortSignal.timeout(PUT_MS)).catch(() => undefined);
}

/**
 * Runs one PUT (checksum, presign, send), again once while S3 is unavailable and up to three times
 * while the bytes change under it (a file written during its export: hsmArchived keeps it dirty);
 * S3's answers become ObjectStoreErrors.
 */
async function withRetry<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  for (let [unavailable, changed] = [1, 1]; ; ) {
    try {
      return await fn();
    } catch (err) {
      if (signal.aborted || !(err instanceof FetchFailedError)) throw err;
      const { kind } = err.failure;
      if (kind === 'Changed' && changed++ < CHANGED_ATTEMPTS) continue;
      if (kind === 'Changed')
        throw new ObjectStoreError('Invalid', `the file kept changing while it was sent: ${err.message}`);
      if (kind !== 'Unavailable' || unavailable++ >= ATTEMPTS) throw new ObjectStoreError(kind, err.message);
      await sleep(200, undefined, { signal });
    }
  }
}
