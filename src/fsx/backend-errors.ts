// The FSx backend's domain errors: every SDK or network error is translated here, once, into one FsxError code.
import { NacreError } from '../lib/errors.ts';

/**
 * What an FSx failure means to the caller:
 * - NotFound: the resource does not exist.
 * - InvalidRequest: the backend rejected the request as written (a bad spec); terminal.
 * - Unsupported: the backend does not offer the operation or setting; terminal.
 * - IdempotencyConflict: the ClientRequestToken was used before with a different request.
 * - Conflict: the resource is busy (a backup or task in progress); retry later.
 * - LimitExceeded: an account quota is used up; retry later.
 * - AccessDenied: the credentials were refused; retry later (they may be fixed).
 * - Throttled: too many requests; back off.
 * - Transient: the service or the network failed; retry.
 */
export type FsxErrorCode =
  | 'NotFound'
  | 'InvalidRequest'
  | 'Unsupported'
  | 'IdempotencyConflict'
  | 'Conflict'
  | 'LimitExceeded'
  | 'AccessDenied'
  | 'Throttled'
  | 'Transient';

/** An FSx API failure. `fsxCode` is the service's own error name (BadRequest, FileSystemNotFound, …). */
export class FsxError extends NacreError {
  declare readonly code: FsxErrorCode;
  readonly fsxCode: string;
  readonly operation: string;
  constructor(
    code: FsxErrorCode,
    fsxCode: string,
    operation: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.fsxCode = fsxCode;
    this.operation = operation;
  }

  /** True for errors that must not be retried until the request changes. */
  get terminal(): boolean {
    return (
      this.code === 'InvalidRequest' || this.code === 'Unsupported' || this.code === 'IdempotencyConflict'
    );
  }
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ProvisionedThroughputExceededException',
]);
const TRANSIENT = new Set([
  'InternalServerError',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);
const ACCESS = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidClientTokenId',
  'MissingAuthenticationToken',
  'ExpiredToken',
  'ExpiredTokenException',
  'CredentialsProviderError',
]);
const UNSUPPORTED = new Set(['UnsupportedOperation', 'UnknownOperationException', 'NotServiceResourceError']);
const CONFLICT = new Set([
  'BackupInProgress',
  'BackupRestoring',
  'BackupBeingCopied',
  'DataRepositoryTaskExecuting',
  'DataRepositoryTaskEnded',
]);
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

interface SdkLikeError {
  name?: string;
  code?: string;
  message?: string;
  Parameter?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

function codeFor(e: SdkLikeError): FsxErrorCode {
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  if (THROTTLING.has(name) || status === 429) return 'Throttled';
  if (
    name === 'IdempotentParameterMismatch' ||
    (name === 'IncompatibleParameterError' && e.Parameter === 'ClientRequestToken')
  )
    return 'IdempotencyConflict';
  if (UNSUPPORTED.has(name)) return 'Unsupported';
  if (name.endsWith('NotFound')) return 'NotFound';
  if (ACCESS.has(name) || status === 401 || status === 403) return 'AccessDenied';
  if (CONFLICT.has(name)) return 'Conflict';
  if (name === 'ServiceLimitExceeded') return 'LimitExceeded';
  if (TRANSIENT.has(name) || (status !== undefined && status >= 500)) return 'Transient';
  if (e.code !== undefined && NETWORK.has(e.code)) return 'Transient';
  if (e.$fault === 'client' || (status !== undefined && status >= 400)) return 'InvalidRequest';
  // No HTTP response at all: the request never completed (network, DNS, a socket timeout).
  return 'Transient';
}

/**
 * The FsxError for anything an SDK call threw. An error caused by `signal` aborting is returned as
 * is (the caller asked for it), as is an FsxError already translated.
 */
export function translateFsxError(err: unknown, operation: string, signal?: AbortSignal): unknown {
  if (err instanceof FsxError) return err;
  if (signal?.aborted) return signal.reason ?? err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as SdkLikeError;
  const code = codeFor(e);
  const fsxCode = e.name && e.name !== 'Error' ? e.name : (e.code ?? 'UnknownError');
  const message = e.message || fsxCode;
  return new FsxError(code, fsxCode, operation, message, { cause: err });
}

export function isFsxError(err: unknown, code?: FsxErrorCode): err is FsxError {
  return err instanceof FsxError && (code === undefined || err.code === code);
}
