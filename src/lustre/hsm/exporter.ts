// Export: new and changed files, directories and symlinks of an association written to S3 with their POSIX metadata; files become archived.
import { CallSlots } from '../../platform/call-slots.ts';
import type { ObjectStore } from '../../platform/object-store.ts';
import { isUploadPresigner } from '../../platform/s3-presign.ts';
import type { LustreClient } from '../client/lustre-client.ts';
import { HS_ARCHIVED, HS_DIRTY, HS_RELEASED } from '../protocol/hsm-messages.ts';
import { ROOT_CREDENTIALS, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from '../types.ts';
import { exportSmallFile } from './export-batch.ts';
import { type FileOutcome, keyOfPath, type RepositoryLink } from './importer.ts';
import { type OssUpload, uploadByOss } from './oss-upload.ts';
import { formatLocation, formatPosixMetadata, parseLocation } from './posix-metadata.ts';
import { errorCode } from './report-codes.ts';
import { lookupPath, pool, type WalkEntry, walk } from './tree.ts';

export interface ExportOptions {
  /** Files larger than this go up in parts (default 16 MiB, also the part size). */
  multipartBytes?: number;
  /** Parts in flight per file (default 4). */
  partConcurrency?: number;
  /** Files exported at once (default 32: a small file's export is mostly waiting on round trips). */
  files?: number;
  /** Of those, files going up in parts at once (default 4: each holds up to partConcurrency parts in memory). */
  largeFiles?: number;
  /** Which files' bytes the OSSes send themselves (default `large`: those going up in parts; oss-upload.ts). */
  ossUpload?: OssUpload;
}

/** Deadline of the close of a file read for its export, which runs also once the export is cancelled. */
const RELEASE_MS = 30_000;

/** The export defaults: what tasks, automatic export and the benchmark use. */
export const EXPORT_DEFAULTS = {
  multipartBytes: 16 * 1024 * 1024,
  partConcurrency: 4,
  files: 32,
  largeFiles: 4,
};

/**
 * Exports one entry. A regular file already archived and not dirty is skipped (returns false); a
 * released one too (its content is in S3 already). `e.attr` must be the file's attributes from
 * before the export began (a lookup or a directory listing): the MDS clears the dirty flag only if
 * the file still has that mtime and size (and the data version hsmState gave) and nobody has it
 * open for writing when the upload is done (hsmArchived), so a write during an export is exported
 * next time. `large` limits the files going up in parts at once (see exportPath). A file that goes
 * up in one PUT takes export-batch.ts's path (unless `ossUpload: 'all'` has its OSS send it): its
 * MDS calls are batched with those of the other files this client exports at the moment.
 */
export async function exportEntry(
  c: LustreClient,
  store: ObjectStore,
  link: RepositoryLink,
  e: WalkEntry,
  opts: ExportOptions,
  signal: AbortSignal,
  large?: CallSlots,
): Promise<boolean> {
  const type = e.attr.mode & S_IFMT;
  const meta = formatPosixMetadata(e.attr);
  if (type === S_IFDIR) {
    await store.put(link.bucket, keyOfPath(link, e.path, true), Buffer.alloc(0), meta, signal);
    return true;
  }
  if (type === S_IFLNK) {
    const target = await c.readlink(e.attr.ino, signal);
    await store.put(link.bucket, keyOfPath(link, e.path), Buffer.from(target), meta, signal);
    return true;
  }
  if (type !== S_IFREG) return false;
  const putBytes = opts.multipartBytes ?? EXPORT_DEFAULTS.multipartBytes;
  // With ossUpload 'all' a one-part file's bytes go from its OSS (uploadByOss), not through the batch's agent PUT.
  if (e.attr.size <= putBytes && !(opts.ossUpload === 'all' && isUploadPresigner(store))) {
    const batched = await exportSmallFile(c, store, link, e, putBytes, signal);
    if (batched !== undefined) return batched;
  }
  const st = await c.mds.call('hsmState', { ino: e.attr.ino }, signal);
  if (st.flags & HS_RELEASED) return false;
  const key = keyOfPath(link, e.path);
  const current = parseLocation(st.location);
  if (
    st.flags & HS_ARCHIVED &&
    !(st.flags & HS_DIRTY) &&
    current?.key === key &&
    current.bucket === link.bucket
  )
    return false;
  const size = e.attr.size;
  const partBytes = opts.multipartBytes ?? EXPORT_DEFAULTS.multipartBytes;
  const release = size > partBytes ? await large?.take(signal) : undefined;
  let etag: string;
  try {
    const handle = await c.open(ROOT_CREDENTIALS, e.attr.ino, 0, signal);
    try {
      // Released since `st` (another export archived it clean, then a release freed its objects): its
      // content is in S3 already, and the OSSes would send the freed objects' zeros over it. While
      // this handle is open no release can come, so the check holds for the whole upload.
      if ((await c.mds.call('hsmState', { ino: e.attr.ino }, signal)).flags & HS_RELEASED) return false;
      // Bytes past `size` (the file grew since e.attr) are left for the next export: hsmArchived keeps it dirty.
      const read = (offset: number, length: number, s: AbortSignal) => c.read(handle, offset, length, s);
      const partConcurrency = opts.partConcurrency ?? EXPORT_DEFAULTS.partConcurrency;
      const byOss = { partBytes, partConcurrency, ...(opts.ossUpload && { ossUpload: opts.ossUpload }) };
      etag =
        (await uploadByOss(c, store, link.bucket, key, size, handle, meta, byOss, signal)) ??
        (size <= partBytes
          ? await store.put(link.bucket, key, await read(0, size, signal), meta, signal)
          : await store.putMultipart(
              link.bucket,
              key,
              size,
              read,
              meta,
              { partSize: partBytes, concurrency: partConcurrency },
              signal,
            ));
    } finally {
      // Not under the export's signal: a cancelled task's handle left open on the MDS would keep the
      // file open for reading (its release EBUSY) for as long as this client lives.
      await c.release(handle, AbortSignal.timeout(RELEASE_MS));
    }
  } finally {
    release?.();
  }
  await c.mds.mutate(
    'hsmArchived',
    {
      cred: ROOT_CREDENTIALS,
      ino: e.attr.ino,
      archiveId: 1,
      location: formatLocation({ bucket: link.bucket, key, etag }),
      // The version hsmState saw, before the open: any write after it moves it (mds/data-version.ts).
      asOf: { mtimeMs: e.attr.mtimeMs, size, dataVersion: st.dataVersion },
    },
    signal,
  );
  return true;
}

/** Exports everything under `path` (a file or directory inside the association), reporting each file exported or failed. */
export async function exportPath(
  c: LustreClient,
  store: ObjectStore,
  link: RepositoryLink,
  path: string,
  opts: ExportOptions,
  found: (n: number) => void,
  done: (o: FileOutcome) => void,
  signal: AbortSignal,
): Promise<void> {
  const root = await lookupPath(c, path, signal);
  if (!root) throw new Error(`${path} does not exist in the file system`);
  const top: WalkEntry = { path, attr: root };
  async function* entries(): AsyncIterable<WalkEntry> {
    if ((root!.mode & S_IFMT) !== S_IFDIR) yield top;
    else {
      if (path !== link.fsPath) yield top;
      yield* walk(c, top, signal);
    }
  }
  const large = new CallSlots(opts.largeFiles ?? EXPORT_DEFAULTS.largeFiles);
  await pool(entries(), opts.files ?? EXPORT_DEFAULTS.files, async (e) => {
    try {
      if (await exportEntry(c, store, link, e, opts, signal, large)) {
        found(1);
        done({ path: e.path.slice(1), ok: true });
      }
    } catch (err) {
      if (signal.aborted) throw err;
      found(1);
      done({ path: e.path.slice(1), ok: false, errorCode: errorCode(err) });
    }
  });
}
