// Property tests of the RAID-0 math against a byte-by-byte reference, with a seeded generator.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Chunk,
  fileOffset,
  mapRange,
  objectSize,
  type StripeGeometry,
  stripeExtents,
} from './striping.ts';

/** mulberry32: a small seeded generator, so a failure names a case that can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function geometryCase(next: () => number) {
  const int = (n: number) => Math.floor(next() * n);
  const g: StripeGeometry = {
    stripeSize: [1, 2, 3, 7, 64, 4096, 65536][int(7)]!,
    stripeCount: 1 + int(6),
  };
  const span = g.stripeSize * g.stripeCount;
  const offset = int(span * 5);
  const length = int(span * 4);
  return { g, offset, length };
}

const CASES = 5000;

/** Where byte `off` lives, computed one byte at a time from the definition. */
function locate(g: StripeGeometry, off: number): { stripe: number; objectOffset: number } {
  const block = Math.floor(off / g.stripeSize);
  const row = Math.floor(block / g.stripeCount);
  return { stripe: block % g.stripeCount, objectOffset: row * g.stripeSize + (off % g.stripeSize) };
}

test('chunks cover the range exactly once, in order, each inside one stripe block', () => {
  const next = rng(1);
  for (let n = 0; n < CASES; n++) {
    const { g, offset, length } = geometryCase(next);
    const chunks = mapRange(g, offset, length);
    let expect = 0;
    for (const c of chunks) {
      const at = `case ${n} ${JSON.stringify({ g, offset, length, c })}`;
      assert.equal(c.bufferOffset, expect, at);
      assert.ok(c.length > 0 && c.length <= g.stripeSize, at);
      const first = locate(g, offset + c.bufferOffset);
      const last = locate(g, offset + c.bufferOffset + c.length - 1);
      assert.deepEqual({ stripe: c.stripe, objectOffset: c.objectOffset }, first, at);
      assert.deepEqual(last, { stripe: c.stripe, objectOffset: c.objectOffset + c.length - 1 }, at);
      expect += c.length;
    }
    assert.equal(expect, length, `case ${n}`);
  }
});

test('object offsets compose back to the file offsets they came from', () => {
  const next = rng(2);
  for (let n = 0; n < CASES; n++) {
    const { g, offset, length } = geometryCase(next);
    for (const c of mapRange(g, offset, length)) {
      assert.equal(fileOffset(g, c.stripe, c.objectOffset), offset + c.bufferOffset, `case ${n}`);
      const lastByte = fileOffset(g, c.stripe, c.objectOffset + c.length - 1);
      assert.equal(lastByte, offset + c.bufferOffset + c.length - 1, `case ${n}`);
    }
  }
});

test('per-stripe object sizes sum to the file size and match the highest byte each stripe holds', () => {
  const next = rng(3);
  for (let n = 0; n < CASES; n++) {
    const { g, offset: fileSize } = geometryCase(next);
    const highest = new Array<number>(g.stripeCount).fill(0);
    for (const c of mapRange(g, 0, fileSize)) {
      highest[c.stripe] = Math.max(highest[c.stripe]!, c.objectOffset + c.length);
    }
    let sum = 0;
    for (let s = 0; s < g.stripeCount; s++) {
      const size = objectSize(g, fileSize, s);
      assert.equal(size, highest[s], `case ${n} stripe ${s} ${JSON.stringify({ g, fileSize })}`);
      sum += size;
    }
    assert.equal(sum, fileSize, `case ${n}`);
  }
});

test('extents tile the same bytes as the chunks, stay under the cap, and are contiguous in the object', () => {
  const next = rng(4);
  for (let n = 0; n < CASES; n++) {
    const { g, offset, length } = geometryCase(next);
    const cap = 1 + Math.floor(next() * g.stripeSize * 3);
    const extents = stripeExtents(mapRange(g, offset, length), cap);
    const pieces: [number, number][] = [];
    for (const e of extents) {
      assert.ok(e.length <= cap, `case ${n}: extent longer than the cap`);
      let at = e.objectOffset;
      for (const c of e.chunks) {
        assert.equal(c.stripe, e.stripe);
        assert.equal(c.objectOffset, at, `case ${n}: chunk does not continue its extent`);
        assert.equal(fileOffset(g, c.stripe, c.objectOffset), offset + c.bufferOffset);
        pieces.push([c.bufferOffset, c.length]);
        at += c.length;
      }
      assert.equal(at, e.objectOffset + e.length);
    }
    pieces.sort((a, b) => a[0] - b[0]);
    let covered = 0;
    for (const [start, len] of pieces) {
      assert.equal(start, covered, `case ${n}: gap or overlap at buffer offset ${covered}`);
      covered += len;
    }
    assert.equal(covered, length, `case ${n}`);
  }
});

test('a full-row-aligned range gives one extent per stripe', () => {
  const g = { stripeSize: 1 << 20, stripeCount: 4 };
  const extents = stripeExtents(mapRange(g, 0, 8 << 20));
  assert.deepEqual(
    extents.map((e) => [e.stripe, e.objectOffset, e.length, e.chunks.length]),
    [
      [0, 0, 2 << 20, 2],
      [1, 0, 2 << 20, 2],
      [2, 0, 2 << 20, 2],
      [3, 0, 2 << 20, 2],
    ],
  );
});

test('bad geometry and ranges are refused', () => {
  assert.throws(() => mapRange({ stripeSize: 0, stripeCount: 1 }, 0, 1), RangeError);
  assert.throws(() => mapRange({ stripeSize: 1, stripeCount: 0 }, 0, 1), RangeError);
  assert.throws(() => mapRange({ stripeSize: 1, stripeCount: 1 }, -1, 1), RangeError);
  assert.deepEqual(mapRange({ stripeSize: 4, stripeCount: 2 }, 5, 0), [] as Chunk[]);
});
