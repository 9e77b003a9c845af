// Domain errors → gRPC status, in one place for every CSI service.
import { status as Status, type StatusObject } from '@grpc/grpc-js';
import { FsxError } from '../fsx/backend-errors.ts';
import {
  DeadlineExceededError,
  FsError,
  NacreError,
  UnavailableError,
  ValidationError,
} from '../lib/errors.ts';
import { KubeError } from '../platform/kube-errors.ts';
import { CsiError, type CsiErrorCode } from './csi-error.ts';

const CSI_CODES: Record<CsiErrorCode, Status> = {
  InvalidArgument: Status.INVALID_ARGUMENT,
  NotFound: Status.NOT_FOUND,
  AlreadyExists: Status.ALREADY_EXISTS,
  Aborted: Status.ABORTED,
  OutOfRange: Status.OUT_OF_RANGE,
  FailedPrecondition: Status.FAILED_PRECONDITION,
  ResourceExhausted: Status.RESOURCE_EXHAUSTED,
  Unavailable: Status.UNAVAILABLE,
  Unimplemented: Status.UNIMPLEMENTED,
  Internal: Status.INTERNAL,
};

function errnoStatus(e: FsError): Status {
  switch (e.code) {
    case 'ENOENT':
    case 'ESTALE':
      return Status.NOT_FOUND;
    case 'EEXIST':
      return Status.ALREADY_EXISTS;
    case 'EINVAL':
    case 'ENAMETOOLONG':
    case 'ENOTDIR':
    case 'EISDIR':
      return Status.INVALID_ARGUMENT;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return Status.PERMISSION_DENIED;
    case 'ENOSPC':
      return Status.RESOURCE_EXHAUSTED;
    case 'ENOTEMPTY':
    case 'EBUSY':
      return Status.FAILED_PRECONDITION;
    case 'ETIMEDOUT':
      return Status.DEADLINE_EXCEEDED;
    case 'ENOTCONN':
    case 'ECONNREFUSED':
    case 'EAGAIN':
    case 'EINTR':
      return Status.UNAVAILABLE;
    case 'ENOSYS':
    case 'ENOTSUP':
    case 'EOPNOTSUPP':
      return Status.UNIMPLEMENTED;
    default:
      return Status.INTERNAL;
  }
}

function fsxStatus(e: FsxError): Status {
  switch (e.code) {
    case 'NotFound':
      return Status.NOT_FOUND;
    case 'InvalidRequest':
      return Status.INVALID_ARGUMENT;
    case 'Unsupported':
      return Status.UNIMPLEMENTED;
    case 'IdempotencyConflict':
      return Status.ALREADY_EXISTS;
    case 'Conflict':
      return Status.ABORTED;
    case 'LimitExceeded':
      return Status.RESOURCE_EXHAUSTED;
    case 'AccessDenied':
      return Status.PERMISSION_DENIED;
    default:
      return Status.UNAVAILABLE;
  }
}

function kubeStatus(e: KubeError): Status {
  switch (e.code) {
    case 'NotFound':
      return Status.NOT_FOUND;
    case 'Conflict':
      return Status.ABORTED;
    case 'Invalid':
      return Status.INVALID_ARGUMENT;
    case 'Forbidden':
      return Status.PERMISSION_DENIED;
    default:
      return Status.UNAVAILABLE;
  }
}

/** The gRPC status a CSI caller gets for `err`; the message keeps what to fix. */
export function toGrpcStatus(err: unknown): Pick<StatusObject, 'code' | 'details'> {
  const details = err instanceof Error ? err.message : String(err);
  let code: Status;
  if (err instanceof CsiError) code = CSI_CODES[err.code];
  else if (err instanceof ValidationError) code = Status.INVALID_ARGUMENT;
  else if (err instanceof FsError) code = errnoStatus(err);
  else if (err instanceof FsxError) code = fsxStatus(err);
  else if (err instanceof KubeError) code = kubeStatus(err);
  else if (err instanceof DeadlineExceededError) code = Status.DEADLINE_EXCEEDED;
  else if (err instanceof UnavailableError) code = Status.UNAVAILABLE;
  else if (err instanceof NacreError && (err.code === 'BackendUnavailable' || err.code === 'ServerStopping'))
    code = Status.UNAVAILABLE;
  // Not a final error for the kubelet: it treats the operation as maybe done (and cleans up after it).
  else if (err instanceof NacreError && err.code === 'Cancelled') code = Status.CANCELLED;
  else if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError'))
    code = Status.DEADLINE_EXCEEDED;
  else code = Status.INTERNAL;
  return { code, details };
}

/** The name of a gRPC status code, for logs. */
export function statusName(code: Status): string {
  return Status[code] ?? String(code);
}
