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
const BLOCK = 2 * 1024 * 1024;
/** Blocks kept for the next calls (fresh buffers cost page faults and GC: most of an upload's CPU when allocated per block). */
const MAX_FREE = 16;
const free: Buffer[] = [];
const take = () => free.pop() ?? Buffer.allocUnsafe(BLOCK);
const give = (b: Buffer) => {
  if (free.length < MAX_FREE) free.push(b);
};

type Outcome = OssMethods['uploadRange']['result'];
/** S3's error codes for a body whose checksum is not the one signed. */
const CHECKSUM_MISMATCH = /^(BadDigest|XAmzContentChecksumMismatch|InvalidDigest)\b/;
/** Fills `buf` with bytes at `offset` of the object; resolves with the bytes read (fewer at its end: the OST's readInto). */
export type ObjectReader = (offset: number, buf: Buffer) => Promise<number>;

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

/**
 * Bytes [offset, offset + length) of the object, block by block into buffers `block` gives (of
 * BLOCK bytes), as a client reads them: zeros past its end.
 */
async function* blocks(
  read: ObjectReader,
  offset: number,
  length: number,
  block: () => Buffer,
): AsyncIterable<Buffer> {
  for (let done = 0; done < length; ) {
    const view = block().subarray(0, Math.min(BLOCK, length - done));
    const got = await read(offset + done, view);
    if (got < view.length) view.fill(0, got);
    yield view;
    done += view.length;
  }
}

/** S3's x-amz-checksum-crc32 (the base64 of the big-endian CRC-32) of the range, zeros past the object's end. */
export async function rangeCrc32(read: ObjectReader, offset: number, length: number): Promise<string> {
  let c = 0;
  const b = take();
  try {
    for await (const view of blocks(read, offset, length, () => b)) c = crc32(view, c);
  } finally {
    give(b);
  }
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(c);
  return out.toString('base64');
}

/**
 * PUTs bytes [offset, offset + length) of the object to `dest` as they are read, in 2 MiB blocks.
 * Resolves with the ETag the store answered, or with how it refused (its error code; `Changed`: the
 * bytes are not those of the signed checksum — the object changed since it was taken) or could not
 * be reached (Unavailable, also past `timeoutMs`). Rejects only with the OST's own read failure (its errno).
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
      // Each block goes back to the pool once the socket took it (its write's callback).
      let current: Buffer | undefined;
      const next = () => {
        current = take();
        return current;
      };
      for await (const view of blocks(read, offset, length, next)) {
        const b = current!;
        if (res) break; // the store answered before the body was sent: a refusal
        // Waits for room, or for the answer or the failure that ends the request (also one that came before).
        if (!req.write(view, () => give(b)))
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
      if (r.statusCode !== 200) {
        const body = await errorBody(r);
        // The object's bytes changed after their checksum was taken: S3 refused them (the caller may take it again).
        if (r.statusCode === 400 && CHECKSUM_MISMATCH.test(body))
          return { failed: { kind: 'Changed', status: 400, message: `${where}: ${body}` } };
        return failed(where, r.statusCode ?? 0, body);
      }
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
