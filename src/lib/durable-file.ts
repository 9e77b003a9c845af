// Small files that survive crashes: write a temp file, fsync it, rename over the old one, fsync the directory.
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

export async function fsyncDir(dir: string): Promise<void> {
  const h = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Replaces `file` with `content` so that a crash or kill leaves either the old or the new content. */
export async function writeFileDurably(file: string, content: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const h = await fs.open(tmp, 'w', 0o600);
  try {
    await h.writeFile(content);
    await h.sync();
  } finally {
    await h.close();
  }
  await fs.rename(tmp, file);
  await fsyncDir(path.dirname(file));
}
