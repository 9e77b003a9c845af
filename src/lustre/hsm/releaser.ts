// Release: frees the OST space of archived, unchanged, closed files not accessed for a while; their metadata stays.
import { FsError } from '../../lib/errors.ts';
import type { LustreClient } from '../client/lustre-client.ts';
import { HS_ARCHIVED, HS_DIRTY, HS_RELEASED } from '../protocol/hsm-messages.ts';
import { ROOT_CREDENTIALS, S_IFDIR, S_IFMT, S_IFREG } from '../types.ts';
import type { FileOutcome } from './importer.ts';
import { errorCode } from './report-codes.ts';
import { lookupPath, pool, type WalkEntry, walk } from './tree.ts';

/**
 * Releases the files under `path` that are archived, not dirty, not yet released and whose atime is
 * older than `minAgeMs`. A dirty or never-exported file is left alone (not counted); an open one is
 * reported failed (ResourceBusy). `released` gets the bytes freed per file.
 */
export async function releasePath(
  c: LustreClient,
  path: string,
  minAgeMs: number,
  now: number,
  found: (n: number) => void,
  done: (o: FileOutcome) => void,
  released: (bytes: number) => void,
  signal: AbortSignal,
): Promise<void> {
  const root = await lookupPath(c, path, signal);
  if (!root) throw new Error(`${path} does not exist in the file system`);
  const top: WalkEntry = { path, attr: root };
  async function* files(): AsyncIterable<WalkEntry> {
    if ((root!.mode & S_IFMT) === S_IFDIR) yield* walk(c, top, signal);
    else yield top;
  }
  await pool(files(), 8, async (e) => {
    if ((e.attr.mode & S_IFMT) !== S_IFREG) return;
    const st = await c.mds.call('hsmState', { ino: e.attr.ino }, signal);
    if (!(st.flags & HS_ARCHIVED) || st.flags & (HS_DIRTY | HS_RELEASED)) return;
    if (now - e.attr.atimeMs < minAgeMs) return;
    found(1);
    try {
      await c.mds.mutate('hsmRelease', { cred: ROOT_CREDENTIALS, ino: e.attr.ino }, signal);
      released(e.attr.size);
      done({ path: e.path.slice(1), ok: true });
    } catch (err) {
      if (!(err instanceof FsError)) throw err;
      done({ path: e.path.slice(1), ok: false, errorCode: errorCode(err) });
    }
  });
}
