// One S3 SDK call as the store makes it: a slot among the SDK's sockets, a deadline, and SDK errors translated to ObjectStoreError.
import type { S3Client } from '@aws-sdk/client-s3';
import { CallSlots } from './call-slots.ts';
import { ObjectStoreError } from './object-store.ts';

/** The slice of the SDK the S3 store uses (a seam for tests). */
export type S3Api = Pick<S3Client, 'send' | 'destroy'>;

const NOT_FOUND = new Set(['NotFound', 'NoSuchKey']);
const BAD_CREDENTIALS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
]);

/** The ObjectStoreError for whatever an SDK call threw. */
export function translateS3Error(err: unknown, what: string): ObjectStoreError {
  if (err instanceof ObjectStoreError) return err;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? 'Error';
  const status = e?.$metadata?.httpStatusCode;
  const msg = `${what}: ${name}${e?.message && e.message !== name ? ` (${e.message})` : ''}`;
  if (name === 'NoSuchBucket') return new ObjectStoreError('NoSuchBucket', msg, { cause: err });
  if (NOT_FOUND.has(name) || status === 404) return new ObjectStoreError('NoSuchKey', msg, { cause: err });
  if (BAD_CREDENTIALS.has(name)) return new ObjectStoreError('InvalidCredentials', msg, { cause: err });
  if (name === 'AccessDenied' || status === 403)
    return new ObjectStoreError('AccessDenied', msg, { cause: err });
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429)
    return new ObjectStoreError('Invalid', msg, { cause: err });
  return new ObjectStoreError('Unavailable', msg, { cause: err });
}

/** Runs SDK calls on one client: `timeoutMs` bounds small calls, `transferMs` a part or ranged GET. */
export class S3Calls {
  readonly s3: S3Api;
  readonly timeoutMs: number;
  readonly transferMs: number;
  /**
   * As many calls in flight as the SDK's HTTP agent has sockets (50): the SDK's connection timeout
   * starts when a request is made, so a request queued in the agent for a socket failed as "did not
   * establish a connection" under load; here it waits its turn (inside its deadline) instead.
   */
  readonly #slots = new CallSlots(50);

  constructor(s3: S3Api, timeoutMs: number, transferMs: number) {
    this.s3 = s3;
    this.timeoutMs = timeoutMs;
    this.transferMs = transferMs;
  }

  /**
   * Runs `fn` within `timeoutMs` and `signal`. `signal`'s abort rethrows its reason; the deadline
   * throws Unavailable "no answer"; anything else comes back as translateS3Error's ObjectStoreError.
   */
  async call<T>(
    what: string,
    signal: AbortSignal,
    timeoutMs: number,
    fn: (s: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const s = AbortSignal.any([signal, deadline]);
    let release: (() => void) | undefined;
    try {
      release = await this.#slots.take(s);
      return await fn(s);
    } catch (err) {
      if (signal.aborted) throw signal.reason ?? err;
      if (deadline.aborted)
        throw new ObjectStoreError('Unavailable', `${what}: no answer within ${timeoutMs} ms`, {
          cause: err,
        });
      throw translateS3Error(err, what);
    } finally {
      release?.();
    }
  }
}
