// An ObjectStore in memory for tests of the HSM agent: objects with metadata and ETags, and a switch that makes S3 "down".
import { createHash } from 'node:crypto';
import {
  type MultipartOptions,
  type ObjectHead,
  type ObjectStore,
  ObjectStoreError,
  type ObjectSummary,
  type PartReader,
} from '../../../platform/object-store.ts';

interface Stored {
  body: Buffer;
  metadata: Record<string, string>;
  mtimeMs: number;
  etag: string;
}

export class MemoryObjectStore implements ObjectStore {
  readonly buckets = new Map<string, Map<string, Stored>>();
  /** While true every call fails as an unreachable S3 would. */
  down = false;
  gets = 0;
  /** Awaited before each ranged GET answers (a test paces S3 with it). */
  beforeGet: ((key: string, offset: number, signal?: AbortSignal) => Promise<void>) | undefined;

  constructor(buckets: string[]) {
    for (const b of buckets) this.buckets.set(b, new Map());
  }

  #bucket(name: string): Map<string, Stored> {
    if (this.down)
      throw new ObjectStoreError('Unavailable', 'connect ECONNREFUSED (S3 is down in this test)');
    const b = this.buckets.get(name);
    if (!b) throw new ObjectStoreError('NoSuchBucket', `The S3 bucket ${name} does not exist.`);
    return b;
  }

  async checkBucket(bucket: string): Promise<void> {
    this.#bucket(bucket);
  }

  async *list(bucket: string, prefix: string): AsyncIterable<ObjectSummary> {
    const b = this.#bucket(bucket);
    for (const key of [...b.keys()].sort()) {
      if (!key.startsWith(prefix)) continue;
      const o = b.get(key)!;
      yield { key, size: o.body.length, mtimeMs: o.mtimeMs, etag: o.etag };
    }
  }

  async head(bucket: string, key: string): Promise<ObjectHead | undefined> {
    const o = this.#bucket(bucket).get(key);
    return o && { key, size: o.body.length, mtimeMs: o.mtimeMs, etag: o.etag, metadata: { ...o.metadata } };
  }

  async getRange(
    bucket: string,
    key: string,
    offset: number,
    length: number,
    signal?: AbortSignal,
    etag?: string,
  ): Promise<Buffer> {
    await this.beforeGet?.(key, offset, signal);
    const o = this.#bucket(bucket).get(key);
    if (!o) throw new ObjectStoreError('NoSuchKey', `s3://${bucket}/${key} does not exist`);
    if (etag && o.etag !== etag)
      throw new ObjectStoreError(
        'Invalid',
        `s3://${bucket}/${key} is no longer the version with ETag ${etag}`,
      );
    this.gets++;
    return Buffer.from(o.body.subarray(offset, offset + length));
  }

  async copy(bucket: string, from: string, to: string, metadata: Record<string, string>): Promise<string> {
    const o = this.#bucket(bucket).get(from);
    if (!o) throw new ObjectStoreError('NoSuchKey', `s3://${bucket}/${from} does not exist`);
    return this.put(bucket, to, o.body, metadata);
  }

  async put(bucket: string, key: string, body: Buffer, metadata: Record<string, string>): Promise<string> {
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    this.#bucket(bucket).set(key, {
      body: Buffer.from(body),
      metadata: { ...metadata },
      mtimeMs: Date.now(),
      etag,
    });
    return etag;
  }

  async putMultipart(
    bucket: string,
    key: string,
    size: number,
    read: PartReader,
    metadata: Record<string, string>,
    opts: MultipartOptions,
    signal: AbortSignal,
  ): Promise<string> {
    const parts: Buffer[] = [];
    for (let off = 0; off < size; off += opts.partSize)
      parts.push(await read(off, Math.min(opts.partSize, size - off), signal));
    return this.put(bucket, key, Buffer.concat(parts), metadata);
  }

  async delete(bucket: string, key: string): Promise<void> {
    this.#bucket(bucket).delete(key);
  }

  async setNotifications(): Promise<void> {}
}
