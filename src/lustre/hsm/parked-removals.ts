// S3 removals automatic export gave up on, kept on the file system (a trusted xattr of its root per association) and retried until done.
import { FsError, NacreError } from '../../lib/errors.ts';
import type { ObjectStore } from '../../platform/object-store.ts';
import type { LustreClient } from '../client/lustre-client.ts';
import type { ChangeRecord } from '../protocol/changelog-messages.ts';
import { ROOT_CREDENTIALS } from '../types.ts';
import { keyOfPath, type RepositoryLink } from './importer.ts';
import { lookupPath } from './tree.ts';

/**
 * A removal to do in S3: the key of a deleted file (`unlink`), of a deleted directory (`rmdir`),
 * or of a renamed-away entry and every key under it (`tree`).
 */
export interface ParkedRemoval {
  path: string;
  kind: 'unlink' | 'rmdir' | 'tree';
}

/** A rename's removal of its old keys failed after its new keys were written (only then may the old ones go later). */
export const REMOVAL_FAILED = 'S3RemovalFailed';

/** Past this many bytes of parked removals (the MDS's xattr limit is 64 KiB) a new one is not kept. */
const MAX_BYTES = 60 * 1024;

const related = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);

/**
 * The S3 removal change `r` was making when it failed with `err` (under the association `link`,
 * `deleting` when its AutoExportPolicy has DELETED), if it was one. A rename's old keys only once
 * its new keys were written (else a released file's only copy could be the old key).
 */
export function removalOf(
  link: RepositoryLink,
  deleting: boolean,
  r: ChangeRecord,
  err: unknown,
): ParkedRemoval | undefined {
  const inside = (p: string | undefined): p is string =>
    p !== undefined && p !== link.fsPath && (link.fsPath === '/' || p.startsWith(`${link.fsPath}/`));
  if (!deleting) return undefined;
  if (r.type === 'UNLNK' && inside(r.path)) return { path: r.path, kind: 'unlink' };
  if (r.type === 'RMDIR' && inside(r.path)) return { path: r.path, kind: 'rmdir' };
  const renameRemoval = err instanceof NacreError && err.code === REMOVAL_FAILED;
  if (r.type === 'RENME' && renameRemoval && inside(r.oldPath)) return { path: r.oldPath, kind: 'tree' };
  return undefined;
}

/**
 * One association's parked removals, mirrored in a trusted xattr of the file system's root (so
 * they survive a restart of the agent). Used by its automatic export only, on its agent chain:
 * `load` once, `add` when a removal is parked, `forgetMentioned` for every later change (a later
 * change at or around a parked path may own its key now: the removal is dropped, leaving at worst
 * a stale key, never removing a live copy), `retry` to do them, and `save` before the changelog
 * cursor moves past the changes seen.
 */
export class ParkedRemovals {
  readonly #name: string;
  #list: ParkedRemoval[] | undefined;
  #changed = false;

  constructor(user: string) {
    this.#name = `trusted.nacre.parked-removals.${user}`;
  }

  get size(): number {
    return this.#list?.length ?? 0;
  }

  async load(c: LustreClient, signal: AbortSignal): Promise<void> {
    if (this.#list) return;
    try {
      const raw = await c.getxattr(ROOT_CREDENTIALS, c.mds.rootIno, this.#name, signal);
      this.#list = JSON.parse(raw.toString('utf8')) as ParkedRemoval[];
    } catch (err) {
      if (!(err instanceof FsError && err.code === 'ENODATA')) throw err;
      this.#list = [];
    }
  }

  /** Keeps `removal` (saved by the next `save`); false when the list is full (it is not kept). */
  add(removal: ParkedRemoval): boolean {
    const list = this.#list ?? [];
    const next = [...list.filter((p) => p.path !== removal.path || p.kind !== removal.kind), removal];
    if (Buffer.byteLength(JSON.stringify(next)) > MAX_BYTES) return false;
    this.#list = next;
    this.#changed = true;
    return true;
  }

  /** A later change names `r.path` or `r.oldPath`: parked removals at, above or below them are dropped. */
  forgetMentioned(r: ChangeRecord): void {
    if (!this.#list || this.#list.length === 0) return;
    const names = [r.path, r.oldPath].filter((p): p is string => p !== undefined);
    const kept = this.#list.filter((p) => !names.some((n) => related(n, p.path)));
    if (kept.length === this.#list.length) return;
    this.#list = kept;
    this.#changed = true;
  }

  /**
   * Does the parked removals whose path has no entry in the file system now, in order, stopping
   * at the first S3 failure (S3 likely still down); saves what is left. Returns how many are left.
   */
  async retry(
    c: LustreClient,
    objects: ObjectStore,
    link: RepositoryLink,
    signal: AbortSignal,
  ): Promise<number> {
    const list = this.#list ?? [];
    let done = 0;
    for (const p of list) {
      try {
        if (!(await lookupPath(c, p.path, signal))) await remove(objects, link, p, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        break;
      }
      done++;
    }
    if (done > 0) {
      this.#list = list.slice(done);
      this.#changed = true;
      await this.save(c, signal);
    }
    return this.size;
  }

  /** Writes the list to the MDS if it changed since it was loaded or saved. */
  async save(c: LustreClient, signal: AbortSignal): Promise<void> {
    if (!this.#changed || !this.#list) return;
    if (this.#list.length > 0)
      await c.setxattr(
        ROOT_CREDENTIALS,
        c.mds.rootIno,
        this.#name,
        Buffer.from(JSON.stringify(this.#list)),
        0,
        signal,
      );
    else
      await c.removexattr(ROOT_CREDENTIALS, c.mds.rootIno, this.#name, signal).catch((err: unknown) => {
        if (!(err instanceof FsError && err.code === 'ENODATA')) throw err;
      });
    this.#changed = false;
  }
}

async function remove(objects: ObjectStore, link: RepositoryLink, p: ParkedRemoval, signal: AbortSignal) {
  if (p.kind === 'tree') await deleteTree(objects, link, p.path, signal);
  else await objects.delete(link.bucket, keyOfPath(link, p.path, p.kind === 'rmdir'), signal);
}

/** Deletes the key of a renamed-away entry, and every key under it if it was a directory. */
export async function deleteTree(
  objects: ObjectStore,
  link: RepositoryLink,
  path: string,
  signal: AbortSignal,
): Promise<void> {
  await objects.delete(link.bucket, keyOfPath(link, path), signal);
  const keys: string[] = [];
  for await (const o of objects.list(link.bucket, keyOfPath(link, path, true), signal)) keys.push(o.key);
  for (const k of keys) await objects.delete(link.bucket, k, signal);
}
