// RAID-0 striping math: file byte ranges onto per-stripe OST object extents, and object sizes for a file size.
//
// Byte `off` of a file lies in block b = floor(off / stripeSize), on stripe b % stripeCount, in row
// floor(b / stripeCount); its offset inside that stripe's object is row * stripeSize + off % stripeSize.

import { FsError } from '../lib/errors.ts';
import type { Layout } from './types.ts';

/** The part of a Layout the math needs. Both fields are positive safe integers. */
export interface StripeGeometry {
  stripeSize: number;
  stripeCount: number;
}

/** A piece of a file range that lies in one stripe block. */
export interface Chunk {
  stripe: number;
  /** Offset inside the stripe's object. */
  objectOffset: number;
  length: number;
  /** Offset of this piece inside the caller's buffer (0 = the range's first byte). */
  bufferOffset: number;
}

/** Consecutive object bytes of one stripe: one OST call, scattered to / gathered from `chunks`. */
export interface Extent {
  stripe: number;
  objectOffset: number;
  length: number;
  /** In object order; they tile [objectOffset, objectOffset + length) of the object exactly. */
  chunks: Chunk[];
}

function check(g: StripeGeometry): void {
  if (!Number.isSafeInteger(g.stripeSize) || g.stripeSize <= 0) {
    throw new RangeError(`stripeSize must be a positive integer, got ${g.stripeSize}`);
  }
  if (!Number.isSafeInteger(g.stripeCount) || g.stripeCount <= 0) {
    throw new RangeError(`stripeCount must be a positive integer, got ${g.stripeCount}`);
  }
}

/**
 * Splits the file range [offset, offset + length) at stripe-block boundaries, in file order.
 * The chunks cover the range exactly once; an empty range gives no chunks.
 */
export function mapRange(g: StripeGeometry, offset: number, length: number): Chunk[] {
  check(g);
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`bad range offset=${offset} length=${length}`);
  }
  const { stripeSize: size, stripeCount: count } = g;
  const out: Chunk[] = [];
  let pos = offset;
  const end = offset + length;
  while (pos < end) {
    const block = Math.floor(pos / size);
    const within = pos - block * size;
    const take = Math.min(size - within, end - pos);
    out.push({
      stripe: block % count,
      objectOffset: Math.floor(block / count) * size + within,
      length: take,
      bufferOffset: pos - offset,
    });
    pos += take;
  }
  return out;
}

/** The file offset of byte `objectOffset` of stripe `stripe`'s object (the inverse of mapRange). */
export function fileOffset(g: StripeGeometry, stripe: number, objectOffset: number): number {
  check(g);
  const row = Math.floor(objectOffset / g.stripeSize);
  return (row * g.stripeCount + stripe) * g.stripeSize + (objectOffset - row * g.stripeSize);
}

/**
 * The size stripe `stripe`'s object has when the file is `fileSize` bytes long with no hole at its
 * end: what truncate punches each object to. The sizes of all stripes sum to `fileSize`.
 */
export function objectSize(g: StripeGeometry, fileSize: number, stripe: number): number {
  check(g);
  const rowBytes = g.stripeSize * g.stripeCount;
  const rows = Math.floor(fileSize / rowBytes);
  const rest = fileSize - rows * rowBytes;
  return rows * g.stripeSize + Math.min(g.stripeSize, Math.max(0, rest - stripe * g.stripeSize));
}

/**
 * Groups chunks into per-stripe extents: a chunk joins the open extent of its stripe when it
 * continues it in the object and the extent stays within `maxLength`; chunks longer than
 * `maxLength` are cut first. Extents come out in the order their first chunk appears.
 */
export function stripeExtents(chunks: readonly Chunk[], maxLength = Number.POSITIVE_INFINITY): Extent[] {
  if (!(maxLength > 0)) throw new RangeError(`maxLength must be positive, got ${maxLength}`);
  const out: Extent[] = [];
  const open = new Map<number, Extent>();
  for (const whole of chunks) {
    for (const c of cut(whole, maxLength)) {
      const e = open.get(c.stripe);
      if (e && e.objectOffset + e.length === c.objectOffset && e.length + c.length <= maxLength) {
        e.length += c.length;
        e.chunks.push(c);
        continue;
      }
      const fresh: Extent = { stripe: c.stripe, objectOffset: c.objectOffset, length: c.length, chunks: [c] };
      open.set(c.stripe, fresh);
      out.push(fresh);
    }
  }
  return out;
}

function cut(c: Chunk, maxLength: number): Chunk[] {
  if (c.length <= maxLength) return [c];
  const out: Chunk[] = [];
  for (let done = 0; done < c.length; done += maxLength) {
    out.push({
      stripe: c.stripe,
      objectOffset: c.objectOffset + done,
      length: Math.min(maxLength, c.length - done),
      bufferOffset: c.bufferOffset + done,
    });
  }
  return out;
}

/** The object id of stripe `stripe` of inode `ino`, as the OSS addresses it. */
export function objectId(ino: number, stripe: number): string {
  return `${ino}.${stripe}`;
}

/** The OSTs holding stripe `stripe`: the primary, then the mirror if the layout has one. */
export function copiesOf(layout: Layout, stripe: number): number[] {
  const primary = layout.osts[stripe];
  if (primary === undefined) throw new FsError('EIO', `layout has no OST for stripe ${stripe}`);
  const mirror = layout.mirrors?.[stripe];
  return mirror === undefined ? [primary] : [primary, mirror];
}

/** The OST whose copy of stripe `stripe` the layout marks stale, if any. */
export function staleCopy(layout: Layout, stripe: number): number | undefined {
  return layout.stale?.find((s) => s.stripe === stripe)?.ost;
}

/** The copies of stripe `stripe` that may be read: every copy but a stale one. */
export function readableCopies(layout: Layout, stripe: number): number[] {
  const stale = staleCopy(layout, stripe);
  return copiesOf(layout, stripe).filter((ost) => ost !== stale);
}

/** How a glimpse reaches one copy of a stripe's object, and what a failure means. */
export interface GlimpseCopies {
  /** The size of the object of `stripe` on `ost`; rejects when that copy cannot tell. */
  sizeOf(ost: number, stripe: number): Promise<number>;
  /** A copy failed: return to try the stripe's next readable copy, throw to end the glimpse. */
  passOver(err: unknown, ost: number, stripe: number): void;
  /** The error when no readable copy of `stripe` answered (`last`: the last copy's error). */
  noCopy(stripe: number, last: unknown): Error;
}

/**
 * Lustre's glimpse: the file's size as its objects tell it, the largest file offset any stripe
 * holds data at, each stripe asked of its first readable copy that answers (stale copies skipped).
 * The client and the MDS (for an evicted writer) both glimpse through this.
 */
export async function glimpseLayout(layout: Layout, copies: GlimpseCopies): Promise<number> {
  const ends = await Promise.all(
    layout.osts.map(async (_, stripe) => {
      let last: unknown;
      for (const ost of readableCopies(layout, stripe)) {
        try {
          const size = await copies.sizeOf(ost, stripe);
          return size === 0 ? 0 : fileOffset(layout, stripe, size - 1) + 1;
        } catch (err) {
          copies.passOver(err, ost, stripe);
          last = err;
        }
      }
      throw copies.noCopy(stripe, last);
    }),
  );
  return Math.max(0, ...ends);
}
