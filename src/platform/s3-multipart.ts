// S3 multipart uploads: create, send the parts a few at a time with their CRC-32, complete; abort on any failure.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { MultipartOptions, PartReader } from './object-store.ts';
import type { S3Calls } from './s3-calls.ts';
import { crc32Base64, signWithChecksumOnly } from './s3-checksums.ts';
import type { UploadedPart } from './s3-presign.ts';

/** Starts a multipart upload whose parts carry CRC-32 checksums; resolves with its UploadId. */
export async function createMultipart(
  c: S3Calls,
  bucket: string,
  key: string,
  metadata: Record<string, string>,
  signal: AbortSignal,
): Promise<string> {
  const created = await c.call(
    `CreateMultipartUpload s3://${bucket}/${key}`,
    signal,
    c.timeoutMs,
    (abortSignal) =>
      c.s3.send(
        new CreateMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          Metadata: metadata,
          ChecksumAlgorithm: 'CRC32',
        }),
        { abortSignal },
      ),
  );
  return created.UploadId!;
}

/** Completes an upload from its parts in order (part i + 1 is parts[i]); resolves with the object's ETag. */
export async function completeMultipart(
  c: S3Calls,
  bucket: string,
  key: string,
  uploadId: string,
  parts: UploadedPart[],
  signal: AbortSignal,
): Promise<string> {
  const done = await c.call(
    `CompleteMultipartUpload s3://${bucket}/${key}`,
    signal,
    c.timeoutMs,
    (abortSignal) =>
      c.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: {
            Parts: parts.map((p, i) => ({ ETag: p.etag, PartNumber: i + 1, ChecksumCRC32: p.crc32 })),
          },
        }),
        { abortSignal },
      ),
  );
  return done.ETag ?? '';
}

/** Drops an upload, best effort, within its own deadline (an upload abandoned because its caller stopped is dropped too). */
export async function abortMultipart(
  c: S3Calls,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<void> {
  await c.s3
    .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }), {
      abortSignal: AbortSignal.timeout(c.timeoutMs),
    })
    .catch(() => {});
}

async function uploadPart(
  c: S3Calls,
  bucket: string,
  key: string,
  uploadId: string,
  partNumber: number,
  body: Buffer,
  crc32: string,
  signal: AbortSignal,
): Promise<string> {
  return c.call(
    `UploadPart ${partNumber} s3://${bucket}/${key}`,
    signal,
    c.transferMs,
    async (abortSignal) => {
      const out = await c.s3.send(
        signWithChecksumOnly(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: body,
            ContentLength: body.length,
            ChecksumCRC32: crc32,
          }),
        ),
        { abortSignal },
      );
      return out.ETag ?? '';
    },
  );
}

/** Uploads `size` bytes read part by part by `read`, `opts.concurrency` parts at a time; aborts the upload on any failure. */
export async function putMultipart(
  c: S3Calls,
  bucket: string,
  key: string,
  size: number,
  read: PartReader,
  metadata: Record<string, string>,
  opts: MultipartOptions,
  signal: AbortSignal,
): Promise<string> {
  const uploadId = await createMultipart(c, bucket, key, metadata, signal);
  const count = Math.max(1, Math.ceil(size / opts.partSize));
  const etags: string[] = new Array(count);
  const checksums: string[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const offset = i * opts.partSize;
      const body = await read(offset, Math.min(opts.partSize, size - offset), signal);
      const crc32 = crc32Base64(body);
      checksums[i] = crc32;
      etags[i] = await uploadPart(c, bucket, key, uploadId, i + 1, body, crc32, signal);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, count) }, worker));
    const parts = etags.map((etag, i) => ({ etag, crc32: checksums[i]! }));
    return await completeMultipart(c, bucket, key, uploadId, parts, signal);
  } catch (err) {
    await abortMultipart(c, bucket, key, uploadId);
    throw err;
  }
}
