// The FSx API's error vocabulary: errors the emulator answers with, shaped as AWS JSON 1.1 error bodies.
import { NacreError } from '../../../lib/errors.ts';

/**
 * An error the API returns to the caller: `code` becomes the body's `__type` (and the
 * x-amzn-ErrorType header), which the SDK maps to its exception class of the same name
 * (BadRequest, FileSystemNotFound, …). `fields` are the exception's modelled members
 * (`Parameter`, `Limit`, `ResourceARN`, …).
 */
export class FsxApiError extends NacreError {
  readonly status: number;
  readonly fields: Readonly<Record<string, unknown>>;
  constructor(
    code: string,
    message: string,
    opts: { status?: number; fields?: Record<string, unknown> } = {},
  ) {
    super(code, message);
    this.status = opts.status ?? 400;
    this.fields = opts.fields ?? {};
  }

  /** The JSON body AWS sends for this error. */
  body(): Record<string, unknown> {
    return { __type: this.code, Message: this.message, message: this.message, ...this.fields };
  }
}

/** A generic client error (FSx's BadRequest). */
export function badRequest(message: string): FsxApiError {
  return new FsxApiError('BadRequest', message);
}

/** Two parameters that cannot be used together, or a parameter that does not fit the resource. */
export function incompatibleParameter(parameter: string, message: string): FsxApiError {
  return new FsxApiError('IncompatibleParameterError', message, { fields: { Parameter: parameter } });
}

export function invalidThroughput(message: string): FsxApiError {
  return new FsxApiError('InvalidPerUnitStorageThroughput', message);
}

export function unsupported(message: string): FsxApiError {
  return new FsxApiError('UnsupportedOperation', message);
}

export function fileSystemNotFound(id: string): FsxApiError {
  return new FsxApiError('FileSystemNotFound', `File system '${id}' does not exist.`);
}

export function backupNotFound(id: string): FsxApiError {
  return new FsxApiError('BackupNotFound', `Backup '${id}' does not exist.`);
}

export type ServiceLimit =
  | 'FILE_SYSTEM_COUNT'
  | 'TOTAL_STORAGE'
  | 'TOTAL_USER_INITIATED_BACKUPS'
  | 'TOTAL_USER_TAGS';

export function serviceLimit(limit: ServiceLimit, message: string): FsxApiError {
  return new FsxApiError('ServiceLimitExceeded', message, { fields: { Limit: limit } });
}

/** A request that breaks a constraint of the API model (type, pattern, range, required), as AWS words it. */
export function validationError(path: string, value: unknown, constraint: string): FsxApiError {
  const shown =
    value === undefined || value === null
      ? 'null'
      : `'${typeof value === 'string' ? value : JSON.stringify(value)}'`;
  return new FsxApiError(
    'ValidationException',
    `1 validation error detected: Value ${shown} at '${path}' failed to satisfy constraint: ${constraint}`,
  );
}

/** A body that is not JSON, or a member of the wrong JSON type. */
export function serializationError(message: string): FsxApiError {
  return new FsxApiError('SerializationException', message);
}

export function internalError(): FsxApiError {
  return new FsxApiError('InternalServerError', 'An internal error occurred; see the emulator log.', {
    status: 500,
  });
}
