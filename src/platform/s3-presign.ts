// Presigned S3 requests (SigV4 query signing): who holds the credentials signs one ranged GET, or one PUT of a part or object, that someone without them sends.
import { createHash, createHmac } from 'node:crypto';

/** A GET anyone can send as is: the URL and the headers it must carry (they are signed: changed, S3 refuses the request). */
export interface PresignedGet {
  url: string;
  headers: Record<string, string>;
}

/** An object store that can hand out presigned ranged GETs (S3ObjectStore can; the in-memory test store cannot). */
export interface RangePresigner {
  /**
   * A GET of bytes [offset, offset + length) of the object, valid for `expiresInS` seconds, that S3
   * answers with 412 Precondition Failed unless the object's ETag is still `etag`.
   */
  presignRange(
    bucket: string,
    key: string,
    offset: number,
    length: number,
    etag: string,
    expiresInS: number,
  ): Promise<PresignedGet>;
}

export function isRangePresigner(store: object): store is RangePresigner {
  return typeof (store as Partial<RangePresigner>).presignRange === 'function';
}

/** One uploaded part as CompleteMultipartUpload names it. */
export interface UploadedPart {
  etag: string;
  /** Its x-amz-checksum-crc32 (base64). */
  crc32: string;
}

/**
 * An object store whose uploads someone without its credentials can send: the holder starts and
 * ends a multipart upload (CRC-32 checksums), and presigns each UploadPart or a whole PutObject,
 * with its Content-Length and x-amz-checksum-crc32 signed (S3 refuses other bytes). Calls fail with
 * ObjectStoreError as ObjectStore's do.
 */
export interface UploadPresigner {
  /** False: this store's owner sends the bytes itself (configured so); the methods below still work. */
  readonly presignsUploads: boolean;
  /** Starts a multipart upload of the object with its user metadata; resolves with the UploadId. */
  createMultipart(
    bucket: string,
    key: string,
    metadata: Record<string, string>,
    signal: AbortSignal,
  ): Promise<string>;
  /** An UploadPart of `length` bytes whose CRC-32 is `crc32`, valid `expiresInS` seconds. */
  presignPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    length: number,
    crc32: string,
    expiresInS: number,
  ): Promise<PresignedGet>;
  /** Completes the upload of `parts` (part numbers from 1, in order); resolves with the object's ETag. */
  completeMultipart(
    bucket: string,
    key: string,
    uploadId: string,
    parts: UploadedPart[],
    signal: AbortSignal,
  ): Promise<string>;
  /** Drops an unfinished upload and its parts (best effort: S3's lifecycle rules collect what is left). */
  abortMultipart(bucket: string, key: string, uploadId: string, signal: AbortSignal): Promise<void>;
  /** A PutObject of `length` bytes whose CRC-32 is `crc32`, with its user metadata. */
  presignPut(
    bucket: string,
    key: string,
    length: number,
    crc32: string,
    metadata: Record<string, string>,
    expiresInS: number,
  ): Promise<PresignedGet>;
}

/** Whether others may send this store's uploads (it can presign them, and is configured to). */
export function isUploadPresigner(store: object): store is UploadPresigner {
  const s = store as Partial<UploadPresigner>;
  return typeof s.presignPart === 'function' && s.presignsUploads === true;
}

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export interface PresignTarget {
  /** e.g. "http://127.0.0.1:9000"; undefined: AWS S3 in `region`. */
  endpoint?: string | undefined;
  region: string;
  /** The bucket in the path (MinIO), not in the host name. */
  forcePathStyle: boolean;
}

/** RFC 3986 percent-encoding as SigV4 wants it (unreserved characters kept; `/` kept only in paths). */
function encode(s: string, keepSlash = false): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');

/** The object's URL without a query: path-style under an endpoint, else virtual-hosted on AWS S3. */
export function objectUrl(t: PresignTarget, bucket: string, key: string): URL {
  const path = encode(key, true);
  if (t.endpoint) {
    const base = new URL(t.endpoint);
    const prefix = base.pathname.replace(/\/$/, '');
    if (t.forcePathStyle) return new URL(`${base.origin}${prefix}/${encode(bucket)}/${path}`);
    return new URL(`${base.protocol}//${bucket}.${base.host}${prefix}/${path}`);
  }
  // Bucket names with dots do not fit the wildcard certificate of virtual hosts.
  if (t.forcePathStyle || bucket.includes('.'))
    return new URL(`https://s3.${t.region}.amazonaws.com/${encode(bucket)}/${path}`);
  return new URL(`https://${bucket}.s3.${t.region}.amazonaws.com/${path}`);
}

/**
 * Signs a GET of `url` with `headers` (names lowercase; `host` is added from the URL) by AWS
 * Signature Version 4 in the query string, valid `expiresInS` seconds from `now`, unsigned payload.
 */
export function presignGet(
  url: URL,
  headers: Record<string, string>,
  creds: SigningCredentials,
  region: string,
  expiresInS: number,
  now = new Date(),
): PresignedGet {
  return presignRequest('GET', url, headers, creds, region, expiresInS, now);
}

/**
 * Signs a `method` request of `url` (its own query parameters, e.g. partNumber and uploadId, are
 * signed too) with `headers` as presignGet does. The body is not signed (UNSIGNED-PAYLOAD): sign an
 * x-amz-checksum-* header to have S3 check it.
 */
export function presignRequest(
  method: 'GET' | 'PUT',
  url: URL,
  headers: Record<string, string>,
  creds: SigningCredentials,
  region: string,
  expiresInS: number,
  now = new Date(),
): PresignedGet {
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${region}/s3/aws4_request`;
  const signed: Record<string, string> = { host: url.host };
  for (const [k, v] of Object.entries(headers)) signed[k.toLowerCase()] = v.trim().replace(/\s+/g, ' ');
  const names = Object.keys(signed).sort();
  const query: [string, string][] = [
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
    ['X-Amz-Credential', `${creds.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(Math.floor(expiresInS))],
    ['X-Amz-SignedHeaders', names.join(';')],
  ];
  if (creds.sessionToken) query.push(['X-Amz-Security-Token', creds.sessionToken]);
  for (const [k, v] of url.searchParams) query.push([k, v]);
  const canonicalQuery = query
    .map(([k, v]) => [encode(k), encode(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalRequest = [
    method,
    url.pathname,
    canonicalQuery,
    names.map((n) => `${n}:${signed[n]}\n`).join(''),
    names.join(';'),
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = ['s3', 'aws4_request'].reduce(
    (k, part) => hmac(k, part),
    hmac(hmac(`AWS4${creds.secretAccessKey}`, day), region),
  );
  const signature = createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
  const out = new URL(url);
  out.search = `${canonicalQuery}&X-Amz-Signature=${signature}`;
  const sent = { ...signed };
  delete sent['host'];
  return { url: out.toString(), headers: sent };
}

/** A presigned GET of bytes [offset, offset + length) of an object, refused unless its ETag is `etag`. */
export function presignRange(
  t: PresignTarget,
  creds: SigningCredentials,
  bucket: string,
  key: string,
  offset: number,
  length: number,
  etag: string,
  expiresInS: number,
): PresignedGet {
  const headers: Record<string, string> = { range: `bytes=${offset}-${offset + length - 1}` };
  if (etag) headers['if-match'] = etag;
  return presignGet(objectUrl(t, bucket, key), headers, creds, t.region, expiresInS);
}

/** A presigned UploadPart of `length` bytes with CRC-32 `crc32` (base64): S3 refuses any other body. */
export function presignPart(
  t: PresignTarget,
  creds: SigningCredentials,
  bucket: string,
  key: string,
  uploadId: string,
  partNumber: number,
  length: number,
  crc32: string,
  expiresInS: number,
): PresignedGet {
  const url = objectUrl(t, bucket, key);
  url.searchParams.set('partNumber', String(partNumber));
  url.searchParams.set('uploadId', uploadId);
  const headers = { 'content-length': String(length), 'x-amz-checksum-crc32': crc32 };
  return presignRequest('PUT', url, headers, creds, t.region, expiresInS);
}

/** A presigned PutObject of `length` bytes with CRC-32 `crc32` and the user metadata (x-amz-meta-*) signed. */
export function presignPut(
  t: PresignTarget,
  creds: SigningCredentials,
  bucket: string,
  key: string,
  length: number,
  crc32: string,
  metadata: Record<string, string>,
  expiresInS: number,
): PresignedGet {
  const headers: Record<string, string> = {
    'content-length': String(length),
    'x-amz-checksum-crc32': crc32,
  };
  for (const [k, v] of Object.entries(metadata)) headers[`x-amz-meta-${k.toLowerCase()}`] = v;
  return presignRequest('PUT', objectUrl(t, bucket, key), headers, creds, t.region, expiresInS);
}
