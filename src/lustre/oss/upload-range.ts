// OSS-side upload: a range of an OST object PUT to a URL someone else presigned (the HSM agent's exports: UploadPart, PutObject).
import http from 'node:http';
import https from 'node:https';
import { crc32 } from 'node:zlib';
import { FsError } from '../../lib/errors.ts';
import { type Args, int } from '../protocol/args.ts';
import type { FetchSource, OssMethods } from '../protocol/oss-messages.ts';
import { agents, errorBody, failed, MAX_FETCH_MS, requestArg, unavailable } from './fetch-range.ts';

/** Largest range one call reads or uploads: S3's largest part (5 GiB). */
export const MAX_UPLOAD = 5 * 1024 ** 3;
/** Bytes read from the object at a time. */
const BLOCK = 4 * 1024 * 1024;

type Outcome = OssMethods['uploadRange']['result'];
/** Up to `length` bytes at `offset` of the object (fewer at its end: the OST's read). */
export type ObjectReader = (offset: number, length: number) => Promise<Buffer>;

/** The offset and length of a rangeChecksum or uploadRange, checked (EINVAL naming the field). */
export function rangeArgs(a: Args): { offset: number; length: number } {
  const [offset, length] = [int(a, 'offset'), int(a, 'length', { min: 1 })];
  if (length > MAX_UPLOAD) throw new FsError('EINVAL', `argument "length" must be at most ${MAX_UPLOAD}`);
  return { offset, length };
}

/** The uploadRange arguments past target and object, checked (EINVAL naming the field). */
export function uploadArgs(a: Args): {
  offset: number;
  length: number;
  dest: FetchSource;
  timeoutMs: number;
} {
  const { offset, length } = rangeArgs(a);
  const timeoutMs = int(a, 'timeoutMs', { min: 1 });
  if (timeoutMs > MAX_FETCH_MS)
    throw new FsError('EINVAL', `argument "timeoutMs" must be at most ${MAX_FETCH_MS}`);
  const dest = requestArg(a, 'dest');
  if (dest.headers['content-length'] !== String(length))
    throw new FsError('EINVAL', `argument "dest.headers" must hold a content-length of ${length}`);
  return { offset, length, dest, timeoutMs };
}

/** Bytes [offset, offset + length) of the object in blocks, as a client reads them: zeros past its end. */
async function* blocks(read: ObjectReader, offset: number, length: number): AsyncIterable<Buffer> {
  for (let done = 0; done < length; ) {
    const n = Math.min(BLOCK, length - done);
    let b = await read(offset + done, n);
    if (b.length < n) {
      const padded = Buffer.alloc(n);
      b.copy(padded);
      b = padded;
    }
    yield b;
    done += n;
  }
}

/** S3's x-amz-checksum-crc32 (the base64 of the big-endian CRC-32) of the range, zeros past the object's end. */
export async function rangeCrc32(read: ObjectReader, offset: number, length: number): Promise<string> {
  let c = 0;
  for await (const b of blocks(read, offset, length)) c = crc32(b, c);
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(c);
  return out.toString('base64');
}

/**
 * PUTs bytes [offset, offset + length) of the object to `dest` as they are read, in 4 MiB blocks.
 * Resolves with the ETag the store answered, or with how it refused (its error code: a body that
 * does not match the signed checksum is Invalid) or could not be reached (Unavailable, also past
 * `timeoutMs`). Rejects only with the OST's own read failure (its errno).
 */
export async function uploadFrom(
  read: ObjectReader,
  offset: number,
  length: number,
  dest: FetchSource,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Outcome> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const s = AbortSignal.any([signal, deadline]);
  const url = new URL(dest.url);
  const where = `PUT ${url.host}${url.pathname}`;
  const why = (err: unknown) => (deadline.aborted ? `no answer within ${timeoutMs} ms` : String(err));
  const https_ = url.protocol === 'https:';
  const req = (https_ ? https : http).request(url, {
    method: 'PUT',
    headers: dest.headers,
    agent: agents[https_ ? 'https:' : 'http:'],
    signal: s,
  });
  req.on('error', () => {}); // every failure is seen below, by `answered` or the writes
  let res: http.IncomingMessage | undefined;
  const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', (r: http.IncomingMessage) => {
      res = r;
      resolve(r);
    });
    req.once('error', reject);
  });
  answered.catch(() => {}); // awaited below; an error before then is seen by the writes
  let sentAll = false;
  try {
    try {
      for await (const b of blocks(read, offset, length)) {
        if (res) break; // the store answered before the body was sent: a refusal
        // Waits for room, or for the answer or the failure that ends the request (also one that came before).
        if (!req.write(b))
          await Promise.race([new Promise((resolve) => req.once('drain', resolve)), answered]);
      }
      sentAll = !res;
      if (sentAll) req.end();
    } catch (err) {
      if (err instanceof FsError) throw err; // the OST's own failure (EIO): the OSS's errno
      if (!res) return unavailable(where, why(err));
    }
    let r: http.IncomingMessage;
    try {
      r = await answered;
    } catch (err) {
      return unavailable(where, why(err));
    }
    try {
      if (r.statusCode !== 200) return failed(where, r.statusCode ?? 0, await errorBody(r));
      r.resume();
      const etag = r.headers.etag;
      if (!etag) return failed(where, 200, 'answered without an ETag');
      return { etag };
    } catch (err) {
      return unavailable(where, why(err));
    }
  } finally {
    // A body not sent whole, or an answer left unread: the connection is not reused.
    if (!sentAll || (res && !res.complete && res.statusCode !== 200)) req.destroy();
  }
}
