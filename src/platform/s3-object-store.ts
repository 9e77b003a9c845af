// ObjectStore over @aws-sdk/client-s3: path-style addressing for MinIO, a deadline on every call, SDK errors translated once here.
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetBucketNotificationConfigurationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import {
  type MultipartOptions,
  type NotificationEvent,
  type NotificationTarget,
  type ObjectHead,
  type ObjectStore,
  ObjectStoreError,
  type ObjectSummary,
  type PartReader,
} from './object-store.ts';
import { readBody } from './s3-body.ts';
import { type S3Api, S3Calls } from './s3-calls.ts';
import { crc32Base64, signWithChecksumOnly } from './s3-checksums.ts';
import { abortMultipart, completeMultipart, createMultipart, putMultipart } from './s3-multipart.ts';
import {
  type PresignedGet,
  type PresignTarget,
  presignPart,
  presignPut,
  presignRange,
  type RangePresigner,
  type UploadedPart,
  type UploadPresigner,
} from './s3-presign.ts';

export { type S3Api, translateS3Error } from './s3-calls.ts';

export interface S3ObjectStoreOptions {
  /** e.g. "http://127.0.0.1:9000"; undefined: AWS S3 itself. */
  endpoint?: string;
  region: string;
  /** Path-style addressing (bucket in the path), as MinIO needs; default true with an endpoint. */
  forcePathStyle?: boolean;
  /** Static credentials; without them, the SDK's default chain (AWS_* variables, profile, web identity). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Deadline of one small call (default 30 s). */
  timeoutMs?: number;
  /** Deadline of one part or ranged GET (default 120 s). */
  transferTimeoutMs?: number;
  /** Whether uploads are presigned for others to send (default true; false: the holder sends every byte). */
  presignUploads?: boolean;
}

function s3Events(events: NotificationEvent[]): ('s3:ObjectCreated:*' | 's3:ObjectRemoved:*')[] {
  return events.map((e) => (e === 'created' ? 's3:ObjectCreated:*' : 's3:ObjectRemoved:*'));
}

export class S3ObjectStore implements ObjectStore, RangePresigner, UploadPresigner {
  readonly #s3: S3Api;
  readonly #calls: S3Calls;
  readonly #target: PresignTarget;
  readonly #timeoutMs: number;
  readonly #transferMs: number;
  readonly presignsUploads: boolean;

  constructor(opts: S3ObjectStoreOptions, api?: S3Api) {
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#transferMs = opts.transferTimeoutMs ?? 120_000;
    this.presignsUploads = opts.presignUploads ?? true;
    const config: S3ClientConfig = {
      region: opts.region,
      forcePathStyle: opts.forcePathStyle ?? opts.endpoint !== undefined,
      maxAttempts: 2,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 5_000, requestTimeout: this.#transferMs },
    };
    if (opts.endpoint) config.endpoint = opts.endpoint;
    if (opts.credentials) config.credentials = opts.credentials;
    this.#s3 = api ?? new S3Client(config);
    this.#calls = new S3Calls(this.#s3, this.#timeoutMs, this.#transferMs);
    this.#target = { endpoint: opts.endpoint, region: opts.region, forcePathStyle: config.forcePathStyle! };
  }

  /** Signed with the credentials the SDK resolves (static, or its default chain, refreshed as it refreshes them). */
  async presignRange(
    bucket: string,
    key: string,
    offset: number,
    length: number,
    etag: string,
    expiresInS: number,
  ): Promise<PresignedGet> {
    return presignRange(this.#target, await this.#creds(), bucket, key, offset, length, etag, expiresInS);
  }

  async presignPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    length: number,
    crc32: string,
    expiresInS: number,
  ): Promise<PresignedGet> {
    const creds = await this.#creds();
    return presignPart(this.#target, creds, bucket, key, uploadId, partNumber, length, crc32, expiresInS);
  }

  async presignPut(
    bucket: string,
    key: string,
    length: number,
    crc32: string,
    metadata: Record<string, string>,
    expiresInS: number,
  ): Promise<PresignedGet> {
    const creds = await this.#creds();
    return presignPut(this.#target, creds, bucket, key, length, crc32, metadata, expiresInS);
  }

  async #creds() {
    const creds = await (this.#s3 as Partial<S3Client>).config?.credentials();
    if (!creds) throw new ObjectStoreError('InvalidCredentials', 'no S3 credentials to sign a request with');
    return creds;
  }

  close(): void {
    this.#s3.destroy();
  }

  #call<T>(what: string, signal: AbortSignal, timeoutMs: number, fn: (s: AbortSignal) => Promise<T>) {
    return this.#calls.call(what, signal, timeoutMs, fn);
  }

  checkBucket(bucket: string, signal: AbortSignal): Promise<void> {
    return this.#call(`HeadBucket ${bucket}`, signal, this.#timeoutMs, async (abortSignal) => {
      try {
        await this.#s3.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal });
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 404)
          throw new ObjectStoreError('NoSuchBucket', `The S3 bucket ${bucket} does not exist.`, {
            cause: err,
          });
        // A HEAD answer has no body to say why it is refused (bad credentials or a denied listing): a listing says.
        if (status === 403)
          await this.#s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }), { abortSignal });
        else throw err;
      }
    });
  }

  async *list(bucket: string, prefix: string, signal: AbortSignal): AsyncIterable<ObjectSummary> {
    let token: string | undefined;
    do {
      const page = await this.#call(
        `ListObjectsV2 s3://${bucket}/${prefix}`,
        signal,
        this.#timeoutMs,
        (abortSignal) =>
          this.#s3.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: prefix,
              ContinuationToken: token,
              MaxKeys: 1000,
            }),
            { abortSignal },
          ),
      );
      for (const o of page.Contents ?? [])
        if (o.Key !== undefined)
          yield {
            key: o.Key,
            size: o.Size ?? 0,
            mtimeMs: o.LastModified?.getTime() ?? 0,
            etag: o.ETag ?? '',
          };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async head(bucket: string, key: string, signal: AbortSignal): Promise<ObjectHead | undefined> {
    try {
      const h = await this.#call(`HeadObject s3://${bucket}/${key}`, signal, this.#timeoutMs, (abortSignal) =>
        this.#s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal }),
      );
      return {
        key,
        size: h.ContentLength ?? 0,
        mtimeMs: h.LastModified?.getTime() ?? 0,
        etag: h.ETag ?? '',
        metadata: { ...h.Metadata },
      };
    } catch (err) {
      if (err instanceof ObjectStoreError && err.code === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  getRange(
    bucket: string,
    key: string,
    offset: number,
    length: number,
    signal: AbortSignal,
    etag?: string,
  ): Promise<Buffer> {
    if (length <= 0) return Promise.resolve(Buffer.alloc(0));
    return this.#call(`GetObject s3://${bucket}/${key}`, signal, this.#transferMs, async (abortSignal) => {
      try {
        const out = await this.#s3.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: key,
            Range: `bytes=${offset}-${offset + length - 1}`,
            ...(etag && { IfMatch: etag }),
          }),
          { abortSignal },
        );
        return await readBody(out.Body as AsyncIterable<Uint8Array>, out.ContentLength ?? length);
      } catch (err) {
        if ((err as { name?: string }).name === 'InvalidRange') return Buffer.alloc(0);
        if ((err as { name?: string }).name === 'PreconditionFailed')
          throw new ObjectStoreError(
            'Invalid',
            `s3://${bucket}/${key} is no longer the version with ETag ${etag}`,
            {
              cause: err,
            },
          );
        throw err;
      }
    });
  }

  put(
    bucket: string,
    key: string,
    body: Buffer,
    metadata: Record<string, string>,
    signal: AbortSignal,
  ): Promise<string> {
    return this.#call(`PutObject s3://${bucket}/${key}`, signal, this.#transferMs, async (abortSignal) => {
      const out = await this.#s3.send(
        signWithChecksumOnly(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            Metadata: metadata,
            ContentLength: body.length,
            ChecksumCRC32: crc32Base64(body),
          }),
        ),
        { abortSignal },
      );
      return out.ETag ?? '';
    });
  }

  putMultipart(
    bucket: string,
    key: string,
    size: number,
    read: PartReader,
    metadata: Record<string, string>,
    opts: MultipartOptions,
    signal: AbortSignal,
  ): Promise<string> {
    return putMultipart(this.#calls, bucket, key, size, read, metadata, opts, signal);
  }

  createMultipart(bucket: string, key: string, metadata: Record<string, string>, signal: AbortSignal) {
    return createMultipart(this.#calls, bucket, key, metadata, signal);
  }

  completeMultipart(
    bucket: string,
    key: string,
    uploadId: string,
    parts: UploadedPart[],
    signal: AbortSignal,
  ) {
    return completeMultipart(this.#calls, bucket, key, uploadId, parts, signal);
  }

  /** Its own deadline, not `signal`'s: an upload abandoned because the caller stopped is dropped too. */
  abortMultipart(bucket: string, key: string, uploadId: string, _signal: AbortSignal): Promise<void> {
    return abortMultipart(this.#calls, bucket, key, uploadId);
  }

  copy(
    bucket: string,
    from: string,
    to: string,
    metadata: Record<string, string>,
    signal: AbortSignal,
  ): Promise<string> {
    const source = `${bucket}/${from.split('/').map(encodeURIComponent).join('/')}`;
    return this.#call(
      `CopyObject s3://${bucket}/${from} to ${to}`,
      signal,
      this.#transferMs,
      async (abortSignal) => {
        const out = await this.#s3.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: to,
            CopySource: source,
            Metadata: metadata,
            MetadataDirective: 'REPLACE',
          }),
          { abortSignal },
        );
        return out.CopyObjectResult?.ETag ?? '';
      },
    );
  }

  delete(bucket: string, key: string, signal: AbortSignal): Promise<void> {
    return this.#call(`DeleteObject s3://${bucket}/${key}`, signal, this.#timeoutMs, async (abortSignal) => {
      await this.#s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal });
    });
  }

  setNotifications(
    bucket: string,
    queueArn: string,
    targets: NotificationTarget[],
    signal: AbortSignal,
  ): Promise<void> {
    return this.#call(
      `PutBucketNotificationConfiguration ${bucket}`,
      signal,
      this.#timeoutMs,
      async (abortSignal) => {
        const current = await this.#s3.send(
          new GetBucketNotificationConfigurationCommand({ Bucket: bucket }),
          {
            abortSignal,
          },
        );
        const others = (current.QueueConfigurations ?? []).filter((q) => q.QueueArn !== queueArn);
        await this.#s3.send(
          new PutBucketNotificationConfigurationCommand({
            Bucket: bucket,
            NotificationConfiguration: {
              QueueConfigurations: [
                ...others,
                ...targets.map((t) => ({
                  Id: t.id,
                  QueueArn: queueArn,
                  Events: s3Events(t.events),
                  Filter: { Key: { FilterRules: [{ Name: 'prefix' as const, Value: t.prefix }] } },
                })),
              ],
              ...(current.TopicConfigurations && { TopicConfigurations: current.TopicConfigurations }),
              ...(current.LambdaFunctionConfigurations && {
                LambdaFunctionConfigurations: current.LambdaFunctionConfigurations,
              }),
              ...(current.EventBridgeConfiguration && {
                EventBridgeConfiguration: current.EventBridgeConfiguration,
              }),
            },
          }),
          { abortSignal },
        );
      },
    );
  }
}
