// OSS-side fetch: an HTTP(S) GET that someone else presigned, streamed straight into an OST object (the HSM agent's restores).
import http from 'node:http';
import https from 'node:https';
import { FsError } from '../../lib/errors.ts';
import { type Args, int, str } from '../protocol/args.ts';
import type { FetchFailure, FetchSource, OssMethods } from '../protocol/oss-messages.ts';
import { type GetResponse, httpGet } from './http-get.ts';

/** Longest GET deadline a caller may ask for (ms). */
export const MAX_FETCH_MS = 10 * 60_000;
/**
 * Bytes gathered from the response before each write to the object: 1 MiB + 64 KiB, not 1 MiB.
 * Measured on the 2-core VM (bench/oss-fetch-bench.ts, alternating): writes of exactly 1 MiB at
 * 1 MiB offsets cost the OSS 3.1 CPU-s per GiB fetched (2.8 of it in the kernel, writing the page
 * cache), these 1.4–1.6. Likely the kernel's large page-cache folios for aligned writes, taken
 * from memory the VM had handed back to its host (free page reporting): a host fault per page.
 */
const BLOCK = 1024 * 1024 + 64 * 1024;
const MAX_HEADERS = 16;

type Outcome = OssMethods['fetchRange']['result'];
/** Writes `data` at `offset` of the object (the OST's write: space accounting, snapshots). */
export type ObjectWriter = (offset: number, data: Buffer) => Promise<unknown>;

/** Keep-alive connections to the object store for the OSS's uploads (upload-range.ts; fetches use http-get.ts). */
export const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

/** The fetchRange arguments past target and object, checked (EINVAL naming the field). */
export function fetchArgs(a: Args): {
  offset: number;
  length: number;
  source: FetchSource;
  timeoutMs: number;
} {
  const [offset, length] = [int(a, 'offset'), int(a, 'length', { min: 1 })];
  const timeoutMs = int(a, 'timeoutMs', { min: 1 });
  if (timeoutMs > MAX_FETCH_MS)
    throw new FsError('EINVAL', `argument "timeoutMs" must be at most ${MAX_FETCH_MS}`);
  const source = requestArg(a, 'source');
  const range = /^bytes=(\d+)-(\d+)$/.exec(source.headers['range'] ?? '');
  if (!range || Number(range[2]) - Number(range[1]) + 1 !== length)
    throw new FsError('EINVAL', `argument "source.headers" must hold a range of exactly ${length} bytes`);
  return { offset, length, source, timeoutMs };
}

/** A presigned request argument `{ url, headers }` (an http(s) URL, at most 16 lowercase headers, no `host`), checked. */
export function requestArg(a: Args, key: string): FetchSource {
  const s = a[key] as Args | undefined;
  if (typeof s !== 'object' || s === null) throw new FsError('EINVAL', `argument "${key}" must be an object`);
  const url = str(s, 'url', 16_384);
  if (!/^https?:\/\//.test(url)) throw new FsError('EINVAL', `argument "${key}.url" must be an http(s) URL`);
  const h = s['headers'];
  if (typeof h !== 'object' || h === null || Array.isArray(h) || Object.keys(h).length > MAX_HEADERS)
    throw new FsError(
      'EINVAL',
      `argument "${key}.headers" must be an object of at most ${MAX_HEADERS} headers`,
    );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (!/^[a-z0-9-]{1,64}$/.test(k) || k === 'host' || typeof v !== 'string' || v.length > 8192)
      throw new FsError('EINVAL', `argument "${key}.headers" has a bad header ${JSON.stringify(k)}`);
    headers[k] = v;
  }
  return { url, headers };
}

/** The tail of each object's queue of fetched blocks being written. */
const writing = new Map<string, Promise<unknown>>();

/**
 * `write`, but one call at a time per `key` (an object) across every fetch of this process: the
 * file system serializes writes to one file anyway, and threads waiting on its inode lock spin.
 */
export function oneAtATime(key: string, write: ObjectWriter): ObjectWriter {
  return (offset, data) => {
    const run = () => write(offset, data);
    const p = (writing.get(key) ?? Promise.resolve()).then(run, run);
    writing.set(key, p);
    p.then(
      () => writing.get(key) === p && writing.delete(key),
      () => writing.get(key) === p && writing.delete(key),
    );
    return p;
  };
}

/** Free blocks, reused by every fetch of this process: fresh memory for each would cost page faults and garbage collection per byte. */
const freeBlocks: Buffer[] = [];
const KEEP_BLOCKS = 32;

/**
 * GETs `source` and writes the body at `offset` of the object as it arrives, in blocks of about 1 MiB (the
 * next block fills while the last one is written). Resolves with the bytes written, or with what
 * the object store answered when the GET failed (the bytes written before a failure stay: the
 * caller does not count the range as loaded). No write outlives the call.
 */
export async function fetchInto(
  write: ObjectWriter,
  offset: number,
  length: number,
  source: FetchSource,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Outcome> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const s = AbortSignal.any([signal, deadline]);
  const url = new URL(source.url);
  const where = `GET ${url.host}${url.pathname}`;
  let res: GetResponse;
  try {
    res = await httpGet(url, source.headers, s);
  } catch (err) {
    return unavailable(where, deadline.aborted ? `no answer within ${timeoutMs} ms` : String(err));
  }
  const writes = new Set<Promise<unknown>>();
  let block = freeBlocks.pop() ?? Buffer.allocUnsafeSlow(BLOCK);
  try {
    if (res.status === 416) return { fetched: 0 }; // the range starts past the object's end
    if (res.status !== 206) return failed(where, res.status, await getErrorBody(res));
    const asked = /^bytes=(\d+)-/.exec(source.headers['range']!)![1];
    const got = /^bytes (\d+)-(\d+)\//.exec(res.headers['content-range'] ?? '');
    if (!got || got[1] !== asked)
      return failed(
        where,
        206,
        `answered bytes ${res.headers['content-range']} for ${source.headers['range']}`,
      );
    const announced = Number(got[2]) - Number(got[1]) + 1;
    if (announced > length) return failed(where, 206, `sent more than the ${length} bytes asked for`);
    let done = 0;
    let held = 0;
    const flush = () => {
      const [b, n, at] = [block, held, offset + done];
      done += n;
      held = 0;
      block = freeBlocks.pop() ?? Buffer.allocUnsafeSlow(BLOCK);
      const w: Promise<unknown> = write(at, b.subarray(0, n)).finally(() => {
        writes.delete(w);
        if (freeBlocks.length < KEEP_BLOCKS) freeBlocks.push(b);
      });
      w.catch(() => {}); // seen by the body's reader or the wait below
      writes.add(w);
    };
    const sink = (view: Buffer) => {
      for (let i = 0; i < view.length; ) {
        const n = Math.min(view.length - i, BLOCK - held);
        view.copy(block, held, i, i + n);
        held += n;
        i += n;
        if (held === BLOCK) flush();
      }
      // One block written while the next fills; more wait (the socket pauses).
      return writes.size > 1 ? Promise.race(writes) : undefined;
    };
    const complete = await res.body(sink, announced);
    if (held > 0) flush();
    await Promise.all(writes);
    // A connection closed mid-body can end quietly: the bytes announced are what counts.
    if (!complete || done !== announced)
      return unavailable(where, `the body ended after ${done} of ${announced} bytes`);
    return { fetched: done };
  } catch (err) {
    await Promise.allSettled(writes);
    if (err instanceof FsError) throw err; // the OST's own failure (ENOSPC, EIO): the OSS's errno
    return unavailable(where, deadline.aborted ? `no answer within ${timeoutMs} ms` : String(err));
  } finally {
    res.discard(); // a body left unread: its connection is not reused
    if (freeBlocks.length < KEEP_BLOCKS) freeBlocks.push(block);
  }
}

/** An error answer's S3 code and message (from its XML body, at most 64 KiB of it). */
async function getErrorBody(res: GetResponse): Promise<string> {
  let text = '';
  await res
    .body((view) => {
      text += view.toString('utf8');
      return undefined;
    }, 65_536)
    .catch(() => {});
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
  return [code, message].filter(Boolean).join(': ') || `HTTP ${res.status}`;
}

/** An error answer's S3 code and message, from a node:http response (the uploads'; at most 64 KiB of it). */
export async function errorBody(res: http.IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res as AsyncIterable<Buffer>) {
    text += chunk.toString('utf8');
    if (text.length > 65_536) break;
  }
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
  return [code, message].filter(Boolean).join(': ') || `HTTP ${res.statusCode}`;
}

const CREDENTIALS = /^(InvalidAccessKeyId|SignatureDoesNotMatch|InvalidToken|ExpiredToken)\b/;

export function failed(where: string, status: number, why: string): { failed: FetchFailure } {
  const message = `${where}: ${why}`;
  let kind: FetchFailure['kind'];
  if (why.startsWith('NoSuchBucket')) kind = 'NoSuchBucket';
  else if (why.startsWith('NoSuchKey') || status === 404) kind = 'NoSuchKey';
  else if (CREDENTIALS.test(why)) kind = 'InvalidCredentials';
  else if (status === 403) kind = 'AccessDenied';
  else if (status === 412) kind = 'Changed';
  else if (status >= 400 && status < 500 && status !== 408 && status !== 429) kind = 'Invalid';
  else kind = 'Unavailable';
  return { failed: { kind, status, message } };
}

export function unavailable(where: string, why: string): { failed: FetchFailure } {
  return { failed: { kind: 'Unavailable', message: `${where}: ${why}` } };
}
