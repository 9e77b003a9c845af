// The largest size a regular file can have: each of its OST objects must fit in the OSS's local file system.
import { FsError } from '../../lib/errors.ts';
import type { Layout } from '../types.ts';

/** Largest object an OST holds: ext4's limit with 4 KiB blocks (16 TiB less one block). */
export const OBJECT_MAX_BYTES = 2 ** 44 - 4096;

/** Whether a file of `size` bytes fits: the object holding its last byte stays within OBJECT_MAX_BYTES. */
export function sizeFits(layout: Layout | null, size: number): boolean {
  if (!Number.isSafeInteger(size) || size < 0) return false;
  if (size === 0) return true;
  const stripeSize = layout?.stripeSize ?? OBJECT_MAX_BYTES;
  const count = layout?.stripeCount ?? 1;
  const last = size - 1;
  const row = Math.floor(last / (stripeSize * count));
  return row * stripeSize + (last % stripeSize) < OBJECT_MAX_BYTES;
}

/** EFBIG (as a local file system answers truncate, fallocate or a write past its limit) unless `size` fits. */
export function checkFileSize(layout: Layout | null, size: number): void {
  if (!sizeFits(layout, size)) {
    throw new FsError('EFBIG', `${size} bytes is more than a file with this layout can hold`);
  }
}
