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

/** Incremental decoder: push socket chunks, get whole frames. Throws FrameError on malformed input. */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #buffered = 0;

  push(chunk: Buffer): Frame[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.#buffered < 4) break;
      const head = this.#peek(4);
      const rest = head.readUInt32BE(0);
      if (rest < 9 || rest > MAX_FRAME) throw new FrameError(`bad frame length ${rest}`);
      if (this.#buffered < 4 + rest) break;
      frames.push(decodeBody(this.#take(4 + rest)));
    }
    return frames;
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
