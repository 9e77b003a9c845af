// Files that survive crashes: write a temp file, fsync it, rename it over the old one, fsync the directory.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Flushes a directory's entries (a create, rename or unlink in it) to disk. */
export async function fsyncDir(dir: string): Promise<void> {
  const h = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * Replaces `file` with `content` so that a crash or kill leaves either the old or the new content,
 * never a mix, and the new content is on disk when this resolves. Safe to call concurrently for one
 * file (each call has its own temp file; the last rename wins). Aborted before the rename, the old
 * content stays and the temp file is removed.
 */
export async function writeFileDurably(
  file: string,
  content: string | Uint8Array,
  opts: { signal?: AbortSignal; mode?: number } = {},
): Promise<void> {
  opts.signal?.throwIfAborted();
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    const h = await fs.open(tmp, 'w', opts.mode ?? 0o600);
    try {
      await h.writeFile(content, opts.signal ? { signal: opts.signal } : {});
      await h.sync();
    } finally {
      await h.close();
    }
    opts.signal?.throwIfAborted();
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(path.dirname(file));
}
