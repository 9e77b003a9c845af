// The OSS's RPC surface: OST objects addressed by (target, object id), bulk data as the raw payload.
//
// An object id is "<ino>.<stripe index>" (the inode's FID and the stripe, as Lustre addresses OST objects).
// Reads past the end of an object return fewer bytes (a hole at the end reads as nothing); the client
// fills holes with zeros up to the file size from the MDS.
//
// Errors: EINVAL for a malformed target name or object id (anything but "<ino>.<stripe>") or range,
// ENODEV for a target this server does not have, ENOSPC when a target is full, EFBIG past 16 TiB.

import type { OssBatchMethods } from './oss-batch-messages.ts';

export interface StatTarget {
  target: string;
  capacityBytes: number;
  /** Bytes the target's objects occupy on disk (allocated blocks: holes are free). */
  usedBytes: number;
  /** capacityBytes - usedBytes, but never more than the disk under the OSS has free. */
  availBytes: number;
  objects: number;
}

/**
 * Why an OSS-side fetch's GET failed, as the object store answered it (S3's error kinds; `Changed`:
 * 412, the object is no longer the version the GET was signed for; `Unavailable`: no answer, 5xx,
 * throttling or the GET's deadline — worth retrying).
 */
export interface FetchFailure {
  kind:
    | 'NoSuchBucket'
    | 'NoSuchKey'
    | 'AccessDenied'
    | 'InvalidCredentials'
    | 'Changed'
    | 'Invalid'
    | 'Unavailable';
  /** The HTTP status, when there was an answer. */
  status?: number;
  message: string;
}

/** A GET that the OSS sends as is: a presigned URL and the signed headers to send with it (a `range` of exactly the bytes fetched). */
export interface FetchSource {
  url: string;
  headers: Record<string, string>;
}

export interface OssMethods extends OssBatchMethods {
  /** Creates an OST on this server (idempotent for the same target and capacity; EEXIST for another capacity). */
  createTarget: { args: { target: string; capacityBytes: number }; result: null };
  /** Removes an OST and all its objects. Not an error if it does not exist. */
  destroyTarget: { args: { target: string }; result: null };
  /** payload = the data. ENOSPC when the target's capacity would be exceeded. Durable against a process kill on return. */
  write: {
    args: { target: string; object: string; offset: number; sync?: boolean };
    result: { written: number };
  };
  /**
   * Fills `length` bytes at `offset` of the object with the GET `source` (oss/fetch-range.ts), so the
   * bytes go from the object store to the OST without passing through the caller. `source.headers`
   * must hold a `range: bytes=A-B` of `length` bytes. `fetched`: the bytes written (fewer at the end
   * of the remote object). A GET that fails is a result (`failed`), not an error: the OSS is fine.
   * The GET gives up after `timeoutMs`. Durable against a process kill on return, like write.
   */
  fetchRange: {
    args: {
      target: string;
      object: string;
      offset: number;
      length: number;
      source: FetchSource;
      timeoutMs: number;
    };
    result: { fetched: number } | { failed: FetchFailure };
  };
  /**
   * The CRC-32 (base64, as S3's x-amz-checksum-crc32) of `length` bytes at `offset` of the object,
   * as a client's read sees them: bytes past the object's end count as zeros (oss/upload-range.ts).
   */
  rangeChecksum: {
    args: { target: string; object: string; offset: number; length: number };
    result: { crc32: string };
  };
  /**
   * PUTs `length` bytes at `offset` of the object (zeros past its end, as rangeChecksum counts
   * them) to `dest`, a presigned UploadPart or PutObject whose `content-length` header is `length`,
   * so the bytes go from the OST to the object store without passing through the caller. `etag`:
   * what the store answered. A PUT that fails is a result (`failed`; `Changed`: the store found
   * other bytes than its signed checksum's), not an error: the OSS is fine. The PUT gives up after
   * `timeoutMs`.
   */
  uploadRange: {
    args: {
      target: string;
      object: string;
      offset: number;
      length: number;
      dest: FetchSource;
      timeoutMs: number;
    };
    result: { etag: string } | { failed: FetchFailure };
  };
  /** Reply payload = up to `length` bytes at `offset` (fewer at the object's end; none for a missing object). */
  read: {
    /** With `snapshot`: the object as it was when that snapshot was taken. */
    args: { target: string; object: string; offset: number; length: number; snapshot?: string };
    result: { length: number };
  };
  /** Sets the object's size (truncate or extend with a hole); creates it if missing. */
  punch: { args: { target: string; object: string; size: number }; result: null };
  /** fsync of the object. Not an error for a missing object. */
  sync: { args: { target: string; object: string }; result: null };
  /** Removes objects; missing ones are ignored. */
  destroy: { args: { target: string; objects: string[] }; result: null };
  /** null for a missing object; `blocks` are 512-byte units allocated on disk. */
  getattr: {
    args: { target: string; object: string; snapshot?: string };
    result: { size: number; blocks: number } | null;
  };
  /**
   * Point-in-time snapshots (oss/snapshots.ts). `snapshotFreeze`: no change of the target's objects
   * starts until `snapshotActivate` (or `leaseMs` passed), and none runs when it resolves;
   * `snapshotActivate`: records the snapshot (later changes keep the old content for it) and lets
   * changes go on; `snapshotDrop`: forgets it and its kept copies (idempotent).
   */
  snapshotFreeze: { args: { target: string; id: string; leaseMs: number }; result: null };
  snapshotActivate: { args: { target: string; id: string }; result: null };
  snapshotDrop: { args: { target: string; id: string }; result: null };
  statfs: { args: { target: string }; result: StatTarget };
}

export type OssMethod = keyof OssMethods;
