// The CSI services' own refusals, named by the gRPC status the CSI spec prescribes for each case.
import { NacreError } from '../lib/errors.ts';

/**
 * A refusal the CSI spec names a gRPC code for:
 * - InvalidArgument: a required field is missing or a value is malformed (say which and what is wanted);
 * - NotFound: the volume, snapshot or node does not exist;
 * - AlreadyExists: a volume or snapshot of that name exists with incompatible parameters;
 * - Aborted: an operation on this volume is still in progress (the caller retries with backoff);
 * - OutOfRange: the capacity asked for cannot be provided;
 * - FailedPrecondition: the state of the volume or snapshot forbids the call (e.g. delete while in use);
 * - ResourceExhausted: no capacity left to create it;
 * - Unavailable: a dependency (Kubernetes, the file system) cannot be reached right now;
 * - Unimplemented: this driver does not offer the call for this kind of volume.
 */
export type CsiErrorCode =
  | 'InvalidArgument'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Aborted'
  | 'OutOfRange'
  | 'FailedPrecondition'
  | 'ResourceExhausted'
  | 'Unavailable'
  | 'Unimplemented'
  | 'Internal';

export class CsiError extends NacreError {
  declare readonly code: CsiErrorCode;
  constructor(code: CsiErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export const invalidArgument = (message: string): CsiError => new CsiError('InvalidArgument', message);
