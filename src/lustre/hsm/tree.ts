// Namespace helpers of the HSM agent: resolve or create a directory path, walk a tree, split paths.
import { FsError } from '../../lib/errors.ts';
import type { LustreClient } from '../client/lustre-client.ts';
import { type Attr, ROOT_CREDENTIALS, S_IFDIR, S_IFMT } from '../types.ts';

/** The attributes at `path`, or undefined when a component does not exist. */
export async function lookupPath(
  c: LustreClient,
  path: string,
  signal: AbortSignal,
): Promise<Attr | undefined> {
  try {
    return await c.resolvePath(path, signal);
  } catch (err) {
    if (err instanceof FsError && err.code === 'ENOENT') return undefined;
    throw err;
  }
}

/** mkdir -p as root (new directories 0755); ENOTDIR when a component is not a directory. */
export async function ensureDir(c: LustreClient, path: string, signal: AbortSignal): Promise<Attr> {
  let attr = await c.getattr(c.mds.rootIno, signal);
  for (const name of path.split('/')) {
    if (name === '' || name === '.') continue;
    try {
      attr = await c.lookup(ROOT_CREDENTIALS, attr.ino, name, signal);
    } catch (err) {
      if (!(err instanceof FsError && err.code === 'ENOENT')) throw err;
      try {
        attr = await c.mkdir(ROOT_CREDENTIALS, attr.ino, name, 0o755, signal);
      } catch (e) {
        if (!(e instanceof FsError && e.code === 'EEXIST')) throw e;
        attr = await c.lookup(ROOT_CREDENTIALS, attr.ino, name, signal);
      }
    }
    if ((attr.mode & S_IFMT) !== S_IFDIR) throw new FsError('ENOTDIR', `${path}: ${name} is not a directory`);
  }
  return attr;
}

export interface WalkEntry {
  /** Path inside the file system, "/a/b". */
  path: string;
  attr: Attr;
}

/** Every entry below the directory `root` (depth first, not following symlinks), the root excluded. */
export async function* walk(c: LustreClient, root: WalkEntry, signal: AbortSignal): AsyncIterable<WalkEntry> {
  let cookie = 0;
  const dirs: WalkEntry[] = [];
  for (;;) {
    const page = await c.readdir(ROOT_CREDENTIALS, root.attr.ino, cookie, 512, true, signal);
    if (page.length === 0) break;
    for (const e of page) {
      cookie = e.cookie;
      if (e.name === '.' || e.name === '..') continue;
      const attr = e.attr ?? (await c.getattr(e.ino, signal));
      const entry = { path: `${root.path === '/' ? '' : root.path}/${e.name}`, attr };
      yield entry;
      if ((attr.mode & S_IFMT) === S_IFDIR) dirs.push(entry);
    }
  }
  for (const d of dirs) yield* walk(c, d, signal);
}

/** "/a/b/c" → ["/a/b", "c"]. */
export function splitPath(path: string): [string, string] {
  const i = path.lastIndexOf('/');
  return [i <= 0 ? '/' : path.slice(0, i), path.slice(i + 1)];
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function pool<T>(
  items: AsyncIterable<T> | Iterable<T>,
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const running = new Set<Promise<void>>();
  let failure: unknown;
  for await (const item of items) {
    if (failure) break;
    const p: Promise<void> = fn(item)
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => running.delete(p));
    running.add(p);
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
  if (failure) throw failure;
}

/** rm -r of everything below the directory at `path` (the directory itself stays). */
export async function emptyDir(c: LustreClient, path: string, signal: AbortSignal): Promise<void> {
  const dir = await lookupPath(c, path, signal);
  if (!dir || (dir.mode & S_IFMT) !== S_IFDIR) return;
  for (;;) {
    const page = (await c.readdir(ROOT_CREDENTIALS, dir.ino, 0, 512, true, signal)).filter(
      (e) => e.name !== '.' && e.name !== '..',
    );
    if (page.length === 0) return;
    for (const e of page) {
      const child = `${path === '/' ? '' : path}/${e.name}`;
      if ((e.type & S_IFMT) === S_IFDIR || ((e.attr?.mode ?? 0) & S_IFMT) === S_IFDIR) {
        await emptyDir(c, child, signal);
        await c.rmdir(ROOT_CREDENTIALS, dir.ino, e.name, signal);
      } else await c.unlink(ROOT_CREDENTIALS, dir.ino, e.name, signal);
    }
  }
}
