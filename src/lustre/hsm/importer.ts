// Import: S3 objects under a prefix become files, directories and symlinks with their POSIX metadata, content left released in S3.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { FsError } from '../../lib/errors.ts';
import type { ObjectStore, ObjectSummary } from '../../platform/object-store.ts';
import type { LustreClient } from '../client/lustre-client.ts';
import { HS_DIRTY } from '../protocol/hsm-messages.ts';
import { type Attr, ROOT_CREDENTIALS, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from '../types.ts';
import { formatLocation, parseLocation, parsePosixMetadata } from './posix-metadata.ts';
import { errorCode } from './report-codes.ts';
import { ensureDir, lookupPath, pool, splitPath } from './tree.ts';

export interface RepositoryLink {
  bucket: string;
  /** The association's prefix: "" or "a/b/". */
  prefix: string;
  /** The association's FileSystemPath: "/" or "/a/b". */
  fsPath: string;
  /** ImportedFileChunkSize in bytes: the most one OST holds of an imported file. */
  chunkBytes: number;
}

export interface FileOutcome {
  /** Path in the file system without the leading slash, as FSx reports name files. */
  path: string;
  ok: boolean;
  errorCode?: string;
}

const O_WRONLY = 0o1;
const STRIPE_SIZE = 1024 * 1024;
/** Tries to swap a changed file in while it is open (about 10 s in all). */
const REPLACE_ATTEMPTS = 10;

/** The file system path of an object key (undefined for the prefix itself). */
export function pathOfKey(link: RepositoryLink, key: string): string | undefined {
  if (!key.startsWith(link.prefix)) return undefined;
  const rel = key.slice(link.prefix.length).replace(/\/$/, '');
  if (rel === '') return undefined;
  return `${link.fsPath === '/' ? '' : link.fsPath}/${rel}`;
}

/** The object key of a file system path inside the association (directories get a trailing "/"). */
export function keyOfPath(link: RepositoryLink, path: string, dir = false): string {
  const rel = link.fsPath === '/' ? path.slice(1) : path.slice(link.fsPath.length + 1);
  return `${link.prefix}${rel}${dir ? '/' : ''}`;
}

/**
 * Imports every object under `link.prefix + sub` (sub: "" for all). `found` is told how many
 * objects there are as they are listed; `done` gets each one's outcome. A listing failure (no bucket,
 * no access) rejects: the task fails as a whole.
 */
export async function importPrefix(
  c: LustreClient,
  store: ObjectStore,
  link: RepositoryLink,
  sub: string,
  found: (n: number) => void,
  done: (o: FileOutcome) => void,
  signal: AbortSignal,
): Promise<void> {
  await ensureDir(c, link.fsPath, signal);
  async function* listed(): AsyncIterable<ObjectSummary> {
    for await (const o of store.list(link.bucket, link.prefix + sub, signal)) {
      if (pathOfKey(link, o.key) === undefined) continue;
      found(1);
      yield o;
    }
  }
  await pool(listed(), 16, async (o) => {
    const path = pathOfKey(link, o.key)!;
    try {
      await importObject(c, store, link, o, signal);
      done({ path: path.slice(1), ok: true });
    } catch (err) {
      if (signal.aborted) throw err;
      done({ path: path.slice(1), ok: false, errorCode: errorCode(err) });
    }
  });
}

/**
 * Imports one object (new or changed; S3 wins over a changed file). Unchanged files (same ETag) are
 * left alone. A file that is open cannot take a new version: EBUSY.
 */
export async function importObject(
  c: LustreClient,
  store: ObjectStore,
  link: RepositoryLink,
  o: ObjectSummary,
  signal: AbortSignal,
): Promise<void> {
  const path = pathOfKey(link, o.key);
  if (!path) return;
  const head = await store.head(link.bucket, o.key, signal);
  if (!head) throw new FsError('ENOENT', `s3://${link.bucket}/${o.key} disappeared while importing`);
  const meta = parsePosixMetadata(head.metadata);
  const [dirPath, name] = splitPath(path);
  const type = o.key.endsWith('/') ? S_IFDIR : (meta.mode ?? S_IFREG) & S_IFMT || S_IFREG;
  const perm = (meta.mode ?? (type === S_IFDIR ? 0o755 : type === S_IFLNK ? 0o777 : 0o644)) & 0o7777;
  const mtimeMs = meta.mtimeMs ?? head.mtimeMs;
  const times = { mtimeMs, atimeMs: meta.atimeMs ?? mtimeMs };
  const owner = {
    ...(meta.uid !== undefined && { uid: meta.uid }),
    ...(meta.gid !== undefined && { gid: meta.gid }),
  };
  if (type === S_IFDIR) {
    const d = await ensureDir(c, path, signal);
    await c.setattr(ROOT_CREDENTIALS, d.ino, { mode: perm, ...owner, ...times }, signal);
    return;
  }
  const parent = await ensureDir(c, dirPath, signal);
  const existing = await lookupPath(c, path, signal);
  if (type === S_IFLNK) {
    const target = (await store.getRange(link.bucket, o.key, 0, head.size, signal)).toString('utf8');
    if (
      existing &&
      (existing.mode & S_IFMT) === S_IFLNK &&
      (await c.readlink(existing.ino, signal)) === target
    )
      return;
    if (existing) await c.unlink(ROOT_CREDENTIALS, parent.ino, name, signal);
    const l = await c.symlink(ROOT_CREDENTIALS, parent.ino, name, target, signal);
    await c.mds.mutate(
      'setattr',
      { cred: ROOT_CREDENTIALS, ino: l.ino, changes: { ...owner, ...times } },
      signal,
    );
    return;
  }
  const location = formatLocation({ bucket: link.bucket, key: o.key, etag: head.etag });
  if (existing && (existing.mode & S_IFMT) === S_IFREG) {
    const st = await c.mds.call('hsmState', { ino: existing.ino }, signal);
    if (parseLocation(st.location)?.etag === head.etag && !(st.flags & HS_DIRTY)) return;
    // The archive wins: the new version replaces the file in one step, once nobody has it open.
    const replacement = { size: head.size, mode: perm, ...owner, ...times, location, archiveId: 1 };
    for (let attempt = 1; ; attempt++) {
      try {
        await c.mds.mutate('hsmReplace', { cred: ROOT_CREDENTIALS, ino: existing.ino, replacement }, signal);
        return;
      } catch (err) {
        if (!(err instanceof FsError && err.code === 'EBUSY') || attempt >= REPLACE_ATTEMPTS) throw err;
        await sleep(Math.min(2000, 50 * 2 ** attempt), undefined, { signal });
      }
    }
  }
  // A new file is made under a hidden name and renamed into place when complete, so nobody sees it half imported.
  const staged = `.${name}.nacre-import-${randomBytes(4).toString('hex')}`;
  const made = await c.create(ROOT_CREDENTIALS, parent.ino, staged, S_IFREG | perm, O_WRONLY, signal);
  await c.release(made.handle, signal);
  // The directory's layout, as for any new file, unless it would put more than ImportedFileChunkSize on one OST.
  const stripes = Math.min(Math.ceil(head.size / link.chunkBytes), c.config.osts.length);
  const current = (await c.getstripe(made.attr.ino, signal)).layout?.stripeCount ?? 0;
  if (stripes > current)
    await c.setstripe(
      ROOT_CREDENTIALS,
      made.attr.ino,
      { stripeCount: stripes, stripeSize: STRIPE_SIZE, stripeOffset: -1 },
      signal,
    );
  // Never-written objects: the MDS records size and state only; a restore fills the objects.
  const replacement = { size: head.size, mode: perm, ...owner, ...times, location, archiveId: 1 };
  await c.mds.mutate('hsmReplace', { cred: ROOT_CREDENTIALS, ino: made.attr.ino, replacement }, signal);
  if (existing) await removeEntry(c, parent.ino, name, existing, signal);
  await c.rename(ROOT_CREDENTIALS, parent.ino, staged, parent.ino, name, 0, signal);
}

async function removeEntry(
  c: LustreClient,
  parent: number,
  name: string,
  attr: Attr,
  signal: AbortSignal,
): Promise<void> {
  if ((attr.mode & S_IFMT) === S_IFDIR) await c.rmdir(ROOT_CREDENTIALS, parent, name, signal);
  else await c.unlink(ROOT_CREDENTIALS, parent, name, signal);
}

/** An object was deleted in S3: its file goes (FSx's DELETED policy); a directory only when empty. */
export async function deleteForKey(
  c: LustreClient,
  link: RepositoryLink,
  key: string,
  signal: AbortSignal,
): Promise<void> {
  const path = pathOfKey(link, key);
  if (!path) return;
  const attr = await lookupPath(c, path, signal);
  if (!attr) return;
  const [dirPath, name] = splitPath(path);
  const parent = await c.resolvePath(dirPath, signal);
  try {
    await removeEntry(c, parent.ino, name, attr, signal);
  } catch (err) {
    if (err instanceof FsError && (err.code === 'ENOTEMPTY' || err.code === 'ENOENT')) return;
    throw err;
  }
}
