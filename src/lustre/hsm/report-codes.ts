// The error codes a data repository task's report gives per file, from the error that file met.
import { FsError } from '../../lib/errors.ts';
import { ObjectStoreError } from '../../platform/object-store.ts';

/** FSx-style report code for one file's failure. */
export function errorCode(err: unknown): string {
  if (err instanceof ObjectStoreError) {
    switch (err.code) {
      case 'AccessDenied':
      case 'InvalidCredentials':
        return 'S3AccessDenied';
      case 'NoSuchKey':
        return 'S3ObjectNotFound';
      case 'NoSuchBucket':
        return 'S3BucketNotFound';
      case 'Invalid':
        return 'S3InvalidRequest';
      default:
        return 'S3Unavailable';
    }
  }
  if (err instanceof FsError) {
    if (err.code === 'EBUSY') return 'ResourceBusy';
    if (err.code === 'ENAMETOOLONG') return 'PathSizeTooLong';
    if (err.code === 'ENOSPC') return 'FileSystemFull';
    return `FileSystem${err.code}`;
  }
  return 'InternalError';
}
