// An OST's directory on disk: its layout and config file, the space its objects use, and the most a write can add.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir, writeFileDurably } from '../../lib/durable-file.ts';

const BLOCK = 4096;
const CONFIG = 'target.json';

export interface TargetFile {
  target: string;
  capacityBytes: number;
}

/** Creates `dir`/objects with its 256 sub-directories and the config, durably. */
export async function makeTargetDir(dir: string, name: string, capacityBytes: number): Promise<void> {
  const objects = path.join(dir, 'objects');
  await fs.mkdir(objects, { recursive: true });
  await Promise.all(
    Array.from({ length: 256 }, (_, i) =>
      fs.mkdir(path.join(objects, i.toString(16).padStart(2, '0')), { recursive: true }),
    ),
  );
  await fsyncDir(objects);
  await writeFileDurably(path.join(dir, CONFIG), JSON.stringify({ target: name, capacityBytes }));
  await fsyncDir(path.dirname(dir));
}

/** The target's config; undefined when `dir` holds no target. */
export async function readTargetFile(dir: string): Promise<TargetFile | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, CONFIG), 'utf8')) as TargetFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Counts the object files and the bytes they have allocated on disk (st_blocks * 512). */
export async function scanObjects(dir: string): Promise<{ objects: number; usedBytes: number }> {
  const objects = path.join(dir, 'objects');
  let count = 0;
  let usedBytes = 0;
  for (const sub of await fs.readdir(objects)) {
    const names = await fs.readdir(path.join(objects, sub));
    const stats = await Promise.all(names.map((n) => fs.lstat(path.join(objects, sub, n))));
    for (const st of stats) {
      if (!st.isFile()) continue;
      count++;
      usedBytes += st.blocks * 512;
    }
  }
  return { objects: count, usedBytes };
}

/** The most a write of `length` bytes at `offset` can newly allocate, in whole file-system blocks. */
export function worstCaseAllocation(
  o: { size: number; allocated: number },
  offset: number,
  length: number,
): number {
  const first = Math.floor(offset / BLOCK) * BLOCK;
  const end = Math.ceil((offset + length) / BLOCK) * BLOCK;
  const denseEnd = Math.ceil(o.size / BLOCK) * BLOCK;
  const dense = o.allocated >= denseEnd;
  if (!dense) return end - first;
  return Math.max(0, end - Math.max(first, denseEnd));
}
