// Nacre's framed binary wire format: a small JSON header and an optional raw payload per message.
//
//   u32 length of the rest | u8 kind | u32 id | u32 header length | header (JSON, UTF-8) | payload
//
// Bulk data (file contents) travels as the raw payload, never inside JSON.

export const KIND_REQUEST = 1;
export const KIND_REPLY = 2;
export const KIND_ERROR = 3;
export const KIND_PUSH = 4;

/** Largest frame accepted from a peer; a bigger length prefix is treated as a hostile or broken peer. */
export const MAX_FRAME = 80 * 1024 * 1024;
const MAX_HEADER = 1024 * 1024;
const PREFIX = 13;

export interface Frame {
  kind: number;
  id: number;
  header: unknown;
  payload: Buffer | undefined;
}

export class FrameError extends Error {}

/** Encodes a frame as two buffers (prefix+header, payload) so a large payload is never copied. */
export function encodeFrame(kind: number, id: number, header: unknown, payload?: Buffer): Buffer[] {
  const json = Buffer.from(JSON.stringify(header ?? null), 'utf8');
  const prefix = Buffer.allocUnsafe(PREFIX + json.length);
  const rest = 9 + json.length + (payload?.length ?? 0);
  if (rest > MAX_FRAME) throw new FrameError(`frame of ${rest} bytes exceeds the ${MAX_FRAME}-byte limit`);
  prefix.writeUInt32BE(rest, 0);
  prefix.writeUInt8(kind, 4);
  prefix.writeUInt32BE(id >>> 0, 5);
  prefix.writeUInt32BE(json.length, 9);
  json.copy(prefix, PREFIX);
  return payload && payload.length > 0 ? [prefix, payload] : [prefix];
}

/** A frame at least this long is copied into one buffer of its size as its chunks arrive (no list of chunks, no concat). */
const LARGE_FRAME = 64 * 1024;
/** ...once this share of it has arrived, so a peer's length prefix alone never makes us allocate more than 8× what it sent. */
const LARGE_SHARE = 8;

/**
 * Incremental decoder: push socket chunks, get whole frames. Throws FrameError on malformed input.
 * A large frame (bulk data) is allocated once, at its length, when an eighth of it has arrived,
 * and every later chunk is copied straight into it: one copy per byte and no garbage of chunk
 * lists or partial concatenations, whatever the socket's chunk size.
 */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** The large frame being filled, and how many of its bytes have arrived. */
  #large: Buffer | undefined;
  #filled = 0;

  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    if (this.#large) {
      chunk = this.#fill(chunk, frames);
      if (this.#large) return frames;
    }
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    for (;;) {
      if (this.#buffered < 4) break;
      const head = this.#peek(4);
      const rest = head.readUInt32BE(0);
      if (rest < 9 || rest > MAX_FRAME) throw new FrameError(`bad frame length ${rest}`);
      if (this.#buffered < 4 + rest) {
        if (4 + rest >= LARGE_FRAME && this.#buffered * LARGE_SHARE >= 4 + rest)
          this.#startLarge(4 + rest, frames);
        break;
      }
      frames.push(decodeBody(this.#take(4 + rest)));
    }
    return frames;
  }

  /**
   * As push, for a chunk whose memory is written over after this call (a socket's `onread`
   * buffer): every payload returned and every byte kept for the next call are copied out of it.
   */
  pushTransient(chunk: Buffer): Frame[] {
    const frames = this.push(chunk);
    for (const f of frames)
      if (f.payload && f.payload.buffer === chunk.buffer) f.payload = Buffer.from(f.payload);
    for (const [i, c] of this.#chunks.entries())
      if (c.buffer === chunk.buffer) this.#chunks[i] = Buffer.from(c);
    return frames;
  }

  /** Moves what is buffered (less than the frame) into a buffer of the frame's length. */
  #startLarge(length: number, frames: Frame[]): void {
    this.#large = Buffer.allocUnsafe(length);
    this.#filled = 0;
    const held = this.#chunks;
    this.#chunks = [];
    this.#buffered = 0;
    for (const c of held) this.#fill(c, frames);
  }

  /** Copies the start of `chunk` into the large frame; returns what is left of the chunk after the frame. */
  #fill(chunk: Buffer, frames: Frame[]): Buffer {
    const large = this.#large!;
    const n = Math.min(chunk.length, large.length - this.#filled);
    chunk.copy(large, this.#filled, 0, n);
    this.#filled += n;
    if (this.#filled === large.length) {
      this.#large = undefined;
      frames.push(decodeBody(large));
    }
    return chunk.subarray(n);
  }

  #peek(n: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= n) return first;
    const all = Buffer.concat(this.#chunks);
    this.#chunks = [all];
    return all;
  }

  #take(n: number): Buffer {
    let first = this.#chunks[0]!;
    if (first.length < n) {
      first = Buffer.concat(this.#chunks);
      this.#chunks = [first];
    }
    const out = first.subarray(0, n);
    if (first.length === n) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(n);
    this.#buffered -= n;
    return out;
  }
}

function decodeBody(buf: Buffer): Frame {
  const kind = buf.readUInt8(4);
  if (kind < KIND_REQUEST || kind > KIND_PUSH) throw new FrameError(`bad frame kind ${kind}`);
  const id = buf.readUInt32BE(5);
  const headerLength = buf.readUInt32BE(9);
  if (headerLength > MAX_HEADER || PREFIX + headerLength > buf.length) {
    throw new FrameError(`bad header length ${headerLength}`);
  }
  let header: unknown;
  try {
    header = JSON.parse(buf.toString('utf8', PREFIX, PREFIX + headerLength));
  } catch (err) {
    throw new FrameError('header is not JSON', { cause: err });
  }
  const payload = buf.length > PREFIX + headerLength ? buf.subarray(PREFIX + headerLength) : undefined;
  return { kind, id, header, payload };
}
