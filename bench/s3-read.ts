// The cold reads of bench/s3-bench.ts, in its process or in a reader process of their own (bench/s3-reader.ts).
import type { LustreClient } from '../src/lustre/client/lustre-client.ts';
import { pool } from '../src/lustre/hsm/tree.ts';
import { ROOT_CREDENTIALS } from '../src/lustre/types.ts';

/** Bytes per read, and reads in flight per file (as a reader with a large readahead). */
export const RANGE = 8 * 1024 * 1024;

/** Reads a file whole, 8 reads of RANGE bytes in flight. */
export async function readAll(
  c: LustreClient,
  path: string,
  size: number,
  signal: AbortSignal,
): Promise<void> {
  const attr = await c.resolvePath(path, signal);
  const h = await c.open(ROOT_CREDENTIALS, attr.ino, 0, signal);
  const offsets = Array.from({ length: Math.ceil(size / RANGE) }, (_, i) => i * RANGE);
  await pool(offsets, 8, async (off) => {
    await c.read(h, off, RANGE, signal);
  });
  await c.release(h, signal);
}

/** Reads a file's first 4 KiB. */
export async function readHead(c: LustreClient, path: string, signal: AbortSignal): Promise<void> {
  const h = await c.open(ROOT_CREDENTIALS, (await c.resolvePath(path, signal)).ino, 0, signal);
  await c.read(h, 0, 4096, signal);
  await c.release(h, signal);
}
