// Automatic import: S3 event records (from bucket notifications) and periodic listings turned into imports and deletions.
import type { ObjectStore } from '../../platform/object-store.ts';
import type { LustreClient } from '../client/lustre-client.ts';
import { S_IFMT, S_IFREG } from '../types.ts';
import { deleteForKey, importObject, pathOfKey, type RepositoryLink } from './importer.ts';
import { parseLocation } from './posix-metadata.ts';
import { walk } from './tree.ts';

export type AutoEvent = 'NEW' | 'CHANGED' | 'DELETED';

/** One object change an S3 event record announces. */
export interface ObjectEvent {
  bucket: string;
  key: string;
  kind: 'created' | 'removed';
  etag?: string;
  size?: number;
}

/** The object changes in an S3 event notification body (AWS and MinIO shape); malformed records are skipped. */
export function parseEventRecords(body: unknown): ObjectEvent[] {
  const records = (body as { Records?: unknown } | null)?.Records;
  if (!Array.isArray(records)) return [];
  const out: ObjectEvent[] = [];
  for (const r of records) {
    const name = (r as { eventName?: unknown }).eventName;
    const s3 = (
      r as {
        s3?: { bucket?: { name?: unknown }; object?: { key?: unknown; eTag?: unknown; size?: unknown } };
      }
    ).s3;
    const bucket = s3?.bucket?.name;
    const key = s3?.object?.key;
    if (typeof name !== 'string' || typeof bucket !== 'string' || typeof key !== 'string') continue;
    const kind = name.includes('ObjectCreated')
      ? 'created'
      : name.includes('ObjectRemoved')
        ? 'removed'
        : undefined;
    if (!kind) continue;
    let decoded: string;
    try {
      decoded = decodeURIComponent(key.replaceAll('+', ' '));
    } catch {
      continue;
    }
    const e: ObjectEvent = { bucket, key: decoded, kind };
    if (typeof s3?.object?.eTag === 'string') e.etag = s3.object.eTag;
    if (typeof s3?.object?.size === 'number') e.size = s3.object.size;
    out.push(e);
  }
  return out;
}

/**
 * Applies one object change to an association with automatic import `events`: a new object is
 * imported under NEW, a changed one under CHANGED (S3 wins over the file), a removed one deleted
 * under DELETED (a directory only when empty). Returns what it did, or undefined when the policy
 * says to leave it.
 */
export async function applyObjectEvent(
  c: LustreClient,
  store: ObjectStore,
  link: RepositoryLink,
  events: readonly AutoEvent[],
  e: ObjectEvent,
  signal: AbortSignal,
): Promise<AutoEvent | undefined> {
  const path = pathOfKey(link, e.key);
  if (e.bucket !== link.bucket || !path) return undefined;
  if (e.kind === 'removed') {
    if (!events.includes('DELETED')) return undefined;
    await deleteForKey(c, link, e.key, signal);
    return 'DELETED';
  }
  let exists = true;
  try {
    await c.resolvePath(path, signal);
  } catch {
    exists = false;
  }
  const kind: AutoEvent = exists ? 'CHANGED' : 'NEW';
  if (!events.includes(kind)) return undefined;
  const head = await store.head(link.bucket, e.key, signal);
  if (!head) return undefined;
  await importObject(c, store, link, head, signal);
  return kind;
}

/**
 * The fallback where notifications do not arrive: lists the prefix and applies what changed since
 * the files were imported (by ETag), and with DELETED removes files whose object is gone.
 */
export async function reconcileListing(
  c: LustreClient,
  store: ObjectStore,
  link: RepositoryLink,
  events: readonly AutoEvent[],
  signal: AbortSignal,
): Promise<number> {
  const known = new Map<string, string>();
  const root = await c.resolvePath(link.fsPath, signal).catch(() => undefined);
  if (!root) return 0;
  for await (const f of walk(c, { path: link.fsPath, attr: root }, signal)) {
    if ((f.attr.mode & S_IFMT) !== S_IFREG) continue;
    const loc = parseLocation((await c.mds.call('hsmState', { ino: f.attr.ino }, signal)).location);
    if (loc && loc.bucket === link.bucket) known.set(loc.key, loc.etag);
  }
  let applied = 0;
  const seen = new Set<string>();
  for await (const o of store.list(link.bucket, link.prefix, signal)) {
    seen.add(o.key);
    if (o.key.endsWith('/') || known.get(o.key) === o.etag) continue;
    if (
      await applyObjectEvent(
        c,
        store,
        link,
        events,
        { bucket: link.bucket, key: o.key, kind: 'created', etag: o.etag },
        signal,
      )
    )
      applied++;
  }
  if (events.includes('DELETED'))
    for (const key of known.keys())
      if (
        !seen.has(key) &&
        (await applyObjectEvent(
          c,
          store,
          link,
          events,
          { bucket: link.bucket, key, kind: 'removed' },
          signal,
        ))
      )
        applied++;
  return applied;
}
