// The error hierarchy every layer speaks: stable codes, a cause chain, and POSIX errnos for the file system.
import { constants as osConstants } from 'node:os';

/** Base of every error Nacre raises on purpose. Branch on `code` or `instanceof`, never on `message`. */
export class NacreError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The errno names the file system returns. */
export type Errno =
  | 'EPERM'
  | 'ENOENT'
  | 'EIO'
  | 'EBADF'
  | 'EAGAIN'
  | 'ENOMEM'
  | 'EACCES'
  | 'EBUSY'
  | 'EEXIST'
  | 'EXDEV'
  | 'EDQUOT'
  | 'ENODEV'
  | 'ENOTDIR'
  | 'EISDIR'
  | 'EINVAL'
  | 'EFBIG'
  | 'ENOSPC'
  | 'ESPIPE'
  | 'EROFS'
  | 'EMLINK'
  | 'ERANGE'
  | 'EDEADLK'
  | 'ENAMETOOLONG'
  | 'ENOLCK'
  | 'ENOSYS'
  | 'ENOTEMPTY'
  | 'ELOOP'
  | 'ENODATA'
  | 'ENOTSUP'
  | 'EOPNOTSUPP'
  | 'ETIMEDOUT'
  | 'ESTALE'
  | 'EINTR'
  | 'ENOTCONN'
  | 'E2BIG'
  | 'ECONNREFUSED'
  | 'EINPROGRESS';

const errnoNumbers = osConstants.errno as Readonly<Record<string, number>>;

/** The Linux number of an errno name (for FUSE replies). */
export function errnoNumber(name: Errno): number {
  const n = errnoNumbers[name];
  if (n === undefined) throw new NacreError('EINVAL', `unknown errno ${name}`);
  return n;
}

export function isErrno(value: unknown): value is Errno {
  return typeof value === 'string' && value in errnoNumbers && value.startsWith('E');
}

/** A POSIX error inside the file system: what the application will see as errno. */
export class FsError extends NacreError {
  declare readonly code: Errno;
  constructor(code: Errno, message?: string, options?: { cause?: unknown }) {
    super(code, message ?? code, options);
  }
}

/** The file system's answer for an unexpected error: EIO, keeping the cause. */
export function toFsError(err: unknown): FsError {
  if (err instanceof FsError) return err;
  if (err instanceof Error && 'code' in err && isErrno(err.code)) {
    return new FsError(err.code, err.message, { cause: err });
  }
  return new FsError('EIO', err instanceof Error ? err.message : String(err), { cause: err });
}

/** Bad input from a user or a client: report it, do not retry. */
export class ValidationError extends NacreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ValidationError', message, options);
  }
}

/** A call did not finish before its deadline. */
export class DeadlineExceededError extends NacreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DeadlineExceeded', message, options);
  }
}

/** The peer is unreachable or went away; retrying later may succeed. */
export class UnavailableError extends NacreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('Unavailable', message, options);
  }
}

/** An error sent across a process boundary as its code and message, rebuilt as the class its code names. */
export function errorFromCode(code: string, message: string): NacreError {
  if (isErrno(code)) return new FsError(code, message);
  if (code === 'Unavailable') return new UnavailableError(message);
  if (code === 'DeadlineExceeded') return new DeadlineExceededError(message);
  if (code === 'ValidationError') return new ValidationError(message);
  return new NacreError(code, message);
}
