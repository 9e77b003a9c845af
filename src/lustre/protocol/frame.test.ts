// Unit tests of the frame decoder's large-frame path: bulk payloads split anywhere arrive whole and in order.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import test from 'node:test';
import { encodeFrame, type Frame, FrameDecoder, FrameError } from './frame.ts';

function decodeInPieces(bytes: Buffer, cut: (left: number) => number): Frame[] {
  const d = new FrameDecoder();
  const frames: Frame[] = [];
  for (let i = 0; i < bytes.length; ) {
    const n = Math.max(1, Math.min(cut(bytes.length - i), bytes.length - i));
    frames.push(...d.push(bytes.subarray(i, i + n)));
    i += n;
  }
  return frames;
}

test('large and small frames back to back survive any chunking, byte for byte and in order', () => {
  const payloads = [randomBytes(1 << 20), randomBytes(3), randomBytes(200_000), randomBytes(65_536)];
  const bytes = Buffer.concat(payloads.flatMap((p, i) => encodeFrame(2, i, { i }, p)));
  const cuts = [
    () => 65_536,
    () => 1 + Math.floor(Math.random() * 100_000),
    () => 7,
    (left: number) => left, // everything in one chunk
    () => 1_048_600, // a chunk ending inside the second frame's prefix
  ];
  for (const cut of cuts) {
    const frames = decodeInPieces(bytes, cut);
    assert.deepEqual(
      frames.map((f) => f.id),
      [0, 1, 2, 3],
    );
    frames.forEach((f, i) => {
      assert.deepEqual(f.header, { i });
      assert.ok(f.payload?.equals(payloads[i]!), `payload ${i} intact`);
    });
  }
});

test('a large frame whose header is not JSON is refused once it has arrived', () => {
  const [prefix, payload] = encodeFrame(1, 9, { ok: true }, Buffer.alloc(100_000));
  prefix!.write('{', 13); // the header's first byte, the rest stays '"ok":true}' → not JSON
  prefix!.write('x', 14);
  const bytes = Buffer.concat([prefix!, payload!]);
  const d = new FrameDecoder();
  assert.deepEqual(d.push(bytes.subarray(0, 50_000)), []);
  assert.throws(() => d.push(bytes.subarray(50_000)), FrameError);
});

test('frames read through one reused buffer (pushTransient) stay intact after the buffer is overwritten', () => {
  const payloads = [
    randomBytes(90_000),
    randomBytes(3),
    Buffer.alloc(0),
    randomBytes(70_000),
    randomBytes(100),
  ];
  const bytes = Buffer.concat(payloads.flatMap((p, i) => encodeFrame(2, i, { i }, p)));
  for (const size of [5, 13, 4096, 65_536, 100_003, 262_144]) {
    const d = new FrameDecoder();
    const reused = Buffer.alloc(size);
    const frames: Frame[] = [];
    for (let i = 0; i < bytes.length; i += size) {
      const n = bytes.copy(reused, 0, i, i + size);
      frames.push(...d.pushTransient(reused.subarray(0, n)));
      reused.fill(0xee); // the socket's next read writes over it
    }
    assert.deepEqual(
      frames.map((f) => f.id),
      [0, 1, 2, 3, 4],
      `reads of ${size}`,
    );
    frames.forEach((f, i) => {
      assert.ok((f.payload ?? Buffer.alloc(0)).equals(payloads[i]!), `payload ${i}, reads of ${size}`);
    });
  }
});
