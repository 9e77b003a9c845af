// The ObjectStore port: the slice of S3 the HSM agent uses (list, head, ranged get, put, multipart, delete, notifications), with its errors.
import { NacreError } from '../lib/errors.ts';

/**
 * What a failed object store call means: NoSuchBucket, NoSuchKey, AccessDenied (the credentials may
 * not do this), InvalidCredentials (unknown key or bad secret), Invalid (the request was refused as
 * written), Unavailable (network, 5xx, throttling, deadline: retry later).
 */
export type ObjectStoreErrorCode =
  | 'NoSuchBucket'
  | 'NoSuchKey'
  | 'AccessDenied'
  | 'InvalidCredentials'
  | 'Invalid'
  | 'Unavailable';

export class ObjectStoreError extends NacreError {
  declare readonly code: ObjectStoreErrorCode;
  constructor(code: ObjectStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export function isObjectStoreError(err: unknown, code?: ObjectStoreErrorCode): err is ObjectStoreError {
  return err instanceof ObjectStoreError && (code === undefined || err.code === code);
}

export interface ObjectSummary {
  key: string;
  size: number;
  /** Last-Modified, ms since the epoch. */
  mtimeMs: number;
  etag: string;
}

export interface ObjectHead extends ObjectSummary {
  /** User metadata (x-amz-meta-*), names lowercased without the prefix. */
  metadata: Record<string, string>;
}

/** Reads `length` bytes at `offset` of the data being uploaded. */
export type PartReader = (offset: number, length: number, signal: AbortSignal) => Promise<Buffer>;

export interface MultipartOptions {
  partSize: number;
  /** Parts uploaded at once. */
  concurrency: number;
}

export type NotificationEvent = 'created' | 'removed';

/**
 * A bucket store. Every call takes an AbortSignal and has its own deadline (an expired deadline is
 * Unavailable); every failure is an ObjectStoreError. Keys are full object keys (no leading slash).
 */
/** One queue notification configuration: events under `prefix` go to the queue. */
export interface NotificationTarget {
  id: string;
  prefix: string;
  events: NotificationEvent[];
}

export interface ObjectStore {
  /** Resolves when the bucket exists and the credentials may list it. */
  checkBucket(bucket: string, signal: AbortSignal): Promise<void>;
  /** Every object under `prefix`, in key order. */
  list(bucket: string, prefix: string, signal: AbortSignal): AsyncIterable<ObjectSummary>;
  /** The object's attributes and user metadata; undefined when it does not exist. */
  head(bucket: string, key: string, signal: AbortSignal): Promise<ObjectHead | undefined>;
  /**
   * Bytes [offset, offset + length) of the object (fewer at its end). NoSuchKey when it is gone;
   * with `etag`, Invalid when the object is no longer that version (S3's If-Match).
   */
  getRange(
    bucket: string,
    key: string,
    offset: number,
    length: number,
    signal: AbortSignal,
    etag?: string,
  ): Promise<Buffer>;
  /** Writes the whole object in one request; returns its ETag. */
  put(
    bucket: string,
    key: string,
    body: Buffer,
    metadata: Record<string, string>,
    signal: AbortSignal,
  ): Promise<string>;
  /** Writes an object of `size` bytes in parts read by `read`; an upload that fails is aborted. Returns the ETag. */
  putMultipart(
    bucket: string,
    key: string,
    size: number,
    read: PartReader,
    metadata: Record<string, string>,
    opts: MultipartOptions,
    signal: AbortSignal,
  ): Promise<string>;
  /** Copies the object `from` to `to` in the same bucket with new user metadata (one request: up to 5 GiB); returns the new ETag. */
  copy(
    bucket: string,
    from: string,
    to: string,
    metadata: Record<string, string>,
    signal: AbortSignal,
  ): Promise<string>;
  /** Removes the object. Not an error when it does not exist. */
  delete(bucket: string, key: string, signal: AbortSignal): Promise<void>;
  /**
   * The bucket's queue notification configurations to `queueArn` become `targets` (none: removed);
   * its other configurations (other queues, topics, functions) are kept.
   */
  setNotifications(
    bucket: string,
    queueArn: string,
    targets: NotificationTarget[],
    signal: AbortSignal,
  ): Promise<void>;
}
