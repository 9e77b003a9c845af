// AWS Signature Version 4 verification of incoming requests (Authorization header form), with AWS's error codes.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { FsxApiError } from './api-error.ts';

export interface SignedRequest {
  method: string;
  /** Path and query as received (`req.url`). */
  url: string;
  /** Header names and values as received (`req.rawHeaders`). */
  rawHeaders: readonly string[];
  body: Buffer;
}

export interface VerifyOptions {
  /** accessKeyId → secretAccessKey. */
  credentials: Readonly<Record<string, string>>;
  region: string;
  service: string;
  nowMs: number;
  /** How far the request's X-Amz-Date may be from now (AWS: 15 minutes). */
  maxSkewMs?: number;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';

function authError(code: string, message: string, status = 400): FsxApiError {
  return new FsxApiError(code, message, { status });
}

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters. */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function canonicalPath(rawPath: string): string {
  const out: string[] = [];
  for (const seg of rawPath.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  const trailing = rawPath.endsWith('/') && out.length > 0 ? '/' : '';
  // Non-S3 services encode the (already encoded) path segments once more.
  return `/${out.map((s) => uriEncode(s)).join('/')}${trailing}`;
}

function canonicalQuery(rawQuery: string): string {
  if (!rawQuery) return '';
  const pairs = rawQuery
    .split('&')
    .filter(Boolean)
    .map((p) => {
      const i = p.indexOf('=');
      const k = safeDecode((i < 0 ? p : p.slice(0, i)).replace(/\+/g, ' '));
      const v = i < 0 ? '' : safeDecode(p.slice(i + 1).replace(/\+/g, ' '));
      return [uriEncode(k), uriEncode(v)] as const;
    })
    .filter(([k]) => k !== 'X-Amz-Signature');
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValues(rawHeaders: readonly string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!.trim().replace(/\s+/g, ' ');
    const list = map.get(name);
    if (list) list.push(value);
    else map.set(name, [value]);
  }
  return map;
}

interface ParsedAuth {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(value: string): ParsedAuth {
  if (!value.startsWith(`${ALGORITHM} `))
    throw authError(
      'IncompleteSignatureException',
      `Unsupported authorization type; only ${ALGORITHM} is supported.`,
    );
  const parts = new Map<string, string>();
  for (const p of value.slice(ALGORITHM.length + 1).split(',')) {
    const i = p.indexOf('=');
    if (i > 0) parts.set(p.slice(0, i).trim(), p.slice(i + 1).trim());
  }
  const credential = parts.get('Credential');
  const signed = parts.get('SignedHeaders');
  const signature = parts.get('Signature');
  if (!credential || !signed || !signature)
    throw authError(
      'IncompleteSignatureException',
      `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.`,
    );
  const scope = credential.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request')
    throw authError(
      'IncompleteSignatureException',
      'Credential must have the form <key>/<date>/<region>/<service>/aws4_request.',
    );
  return {
    accessKeyId: scope[0]!,
    date: scope[1]!,
    region: scope[2]!,
    service: scope[3]!,
    signedHeaders: signed.split(';'),
    signature,
  };
}

/** Parses an X-Amz-Date (yyyyMMddTHHmmssZ) to ms since the epoch, NaN if malformed. */
function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return Number.NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Checks the request's SigV4 signature. Returns the access key id it was signed with; throws
 * FsxApiError with AWS's codes: MissingAuthenticationTokenException (no signature, 403),
 * IncompleteSignatureException (malformed), UnrecognizedClientException (unknown key),
 * InvalidSignatureException (wrong scope, stale date, or the signature does not match).
 */
export function verifySigV4(req: SignedRequest, opts: VerifyOptions): { accessKeyId: string } {
  const headers = headerValues(req.rawHeaders);
  const authorization = headers.get('authorization')?.[0];
  if (!authorization)
    throw authError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
  const auth = parseAuthorization(authorization);
  const secret = Object.hasOwn(opts.credentials, auth.accessKeyId)
    ? opts.credentials[auth.accessKeyId]
    : undefined;
  if (secret === undefined)
    throw authError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (auth.service !== opts.service)
    throw authError(
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${opts.service}'.`,
    );
  if (auth.region !== opts.region)
    throw authError(
      'InvalidSignatureException',
      `Credential should be scoped to a valid region, not '${auth.region}'.`,
    );
  const amzDate = headers.get('x-amz-date')?.[0];
  if (!amzDate || !auth.signedHeaders.includes('x-amz-date'))
    throw authError('IncompleteSignatureException', 'The request must contain a signed X-Amz-Date header.');
  const at = parseAmzDate(amzDate);
  if (Number.isNaN(at) || amzDate.slice(0, 8) !== auth.date)
    throw authError(
      'InvalidSignatureException',
      'The X-Amz-Date header does not match the credential scope date.',
    );
  const skew = opts.maxSkewMs ?? 15 * 60_000;
  if (Math.abs(opts.nowMs - at) > skew)
    throw authError(
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is outside the ${Math.round(skew / 60_000)} minute window around the server time.`,
    );
  const [rawPath = '/', rawQuery = ''] = req.url.split('?', 2);
  const canonicalHeaders = auth.signedHeaders
    .map((h) => `${h}:${(headers.get(h) ?? []).join(',')}\n`)
    .join('');
  // Always the hash of the body received: a client-supplied x-amz-content-sha256 (or UNSIGNED-PAYLOAD)
  // is not trusted, so a tampered body can never verify.
  const payloadHash = sha256Hex(req.body);
  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalPath(rawPath),
    canonicalQuery(rawQuery),
    canonicalHeaders,
    auth.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${secret}`, auth.date);
  key = hmac(key, auth.region);
  key = hmac(key, auth.service);
  key = hmac(key, 'aws4_request');
  const expected = Buffer.from(hmac(key, stringToSign).toString('hex'));
  const given = Buffer.from(auth.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    throw authError(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
  return { accessKeyId: auth.accessKeyId };
}
