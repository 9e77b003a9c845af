// RAID-0 striping math: file byte ranges onto per-stripe OST object extents, and object sizes for a file size.
//
// Byte `off` of a file lies in block b = floor(off / stripeSize), on stripe b % stripeCount, in row
// floor(b / stripeCount); its offset inside that stripe's object is row * stripeSize + off % stripeSize.

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
