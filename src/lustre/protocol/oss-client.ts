// Typed client of one OSS: one method per OssMethods call, over the unix socket when the server is on this host.
import { FsError } from '../../lib/errors.ts';
import type { OssMethods, StatTarget } from './oss-messages.ts';
import { RpcClient } from './rpc-client.ts';
import { splitReads } from './split-reads.ts';

export interface OssClientOptions {
  /** "host:port" of the OSS. */
  address: string;
  /** "unix:/path" of the same OSS; used instead of `address` when given (the caller knows it is local). */
  localAddress?: string | undefined;
  /** Deadline of each call (ms). Default 30 s. */
  timeoutMs?: number;
}

type Args<M extends keyof OssMethods> = OssMethods[M]['args'];

/**
 * Each method rejects as RpcClient does: FsError for errno codes the OSS returned (EINVAL for a bad
 * target name, object id or range, ENOSPC for a full target, ENODEV for a target this server does
 * not have), UnavailableError when the server cannot be reached or the connection dropped (the call
 * may have run), DeadlineExceededError past the deadline. Calls are not retried.
 */
export class OssClient {
  readonly #rpc: RpcClient;

  constructor(opts: OssClientOptions) {
    this.#rpc = new RpcClient({
      address: opts.localAddress ?? opts.address,
      timeoutMs: opts.timeoutMs ?? 30_000,
    });
  }

  /** The address this client dials. */
  get address(): string {
    return this.#rpc.address;
  }

  createTarget(target: string, capacityBytes: number, signal?: AbortSignal): Promise<null> {
    return this.#call('createTarget', { target, capacityBytes }, signal);
  }

  destroyTarget(target: string, signal?: AbortSignal): Promise<null> {
    return this.#call('destroyTarget', { target }, signal);
  }

  /** Writes all of `data`; durable against a server process kill on return, and on disk with `sync`. */
  async write(args: Args<'write'>, data: Buffer, signal?: AbortSignal): Promise<number> {
    const { result } = await this.#rpc.call<OssMethods['write']['result']>('write', args, {
      payload: data,
      signal,
    });
    return result.written;
  }

  /** Up to `length` bytes; fewer at the object's end; empty for a missing object. */
  async read(args: Args<'read'>, signal?: AbortSignal): Promise<Buffer> {
    const { result, payload } = await this.#rpc.call<OssMethods['read']['result']>('read', args, { signal });
    const data = payload ?? Buffer.alloc(0);
    if (data.length !== result.length) {
      throw new FsError(
        'EIO',
        `OSS ${this.address} sent ${data.length} bytes but announced ${result.length}`,
      );
    }
    return data;
  }

  /** readMany: each range's bytes, as `read` gives them. */
  async readMany(args: Args<'readMany'>, signal?: AbortSignal): Promise<Buffer[]> {
    const { result, payload } = await this.#rpc.call<OssMethods['readMany']['result']>('readMany', args, {
      signal,
    });
    return splitReads(payload ?? Buffer.alloc(0), result.lengths, args.reads.length, this.address);
  }

  /** The OSS fetches the bytes itself (OssMethods.fetchRange); the call's deadline is the GET's plus 15 s. */
  async fetchRange(
    args: Args<'fetchRange'>,
    signal?: AbortSignal,
  ): Promise<OssMethods['fetchRange']['result']> {
    const { result } = await this.#rpc.call<OssMethods['fetchRange']['result']>('fetchRange', args, {
      signal,
      timeoutMs: args.timeoutMs + 15_000,
    });
    return result;
  }

  /** The CRC-32 of a range of the object (OssMethods.rangeChecksum); the OSS reads it whole, so the deadline grows with it. */
  async rangeChecksum(args: Args<'rangeChecksum'>, signal?: AbortSignal): Promise<string> {
    const { result } = await this.#rpc.call<OssMethods['rangeChecksum']['result']>('rangeChecksum', args, {
      signal,
      timeoutMs: 30_000 + Math.ceil(args.length / 1024 / 1024) * 100,
    });
    return result.crc32;
  }

  /** The OSS PUTs a range of the object itself (OssMethods.uploadRange); the call's deadline is the PUT's plus 15 s. */
  async uploadRange(
    args: Args<'uploadRange'>,
    signal?: AbortSignal,
  ): Promise<OssMethods['uploadRange']['result']> {
    const { result } = await this.#rpc.call<OssMethods['uploadRange']['result']>('uploadRange', args, {
      signal,
      timeoutMs: args.timeoutMs + 15_000,
    });
    return result;
  }

  punch(args: Args<'punch'>, signal?: AbortSignal): Promise<null> {
    return this.#call('punch', args, signal);
  }

  sync(args: Args<'sync'>, signal?: AbortSignal): Promise<null> {
    return this.#call('sync', args, signal);
  }

  destroy(args: Args<'destroy'>, signal?: AbortSignal): Promise<null> {
    return this.#call('destroy', args, signal);
  }

  getattr(args: Args<'getattr'>, signal?: AbortSignal): Promise<OssMethods['getattr']['result']> {
    return this.#call('getattr', args, signal);
  }

  snapshotFreeze(args: Args<'snapshotFreeze'>, signal?: AbortSignal): Promise<null> {
    return this.#call('snapshotFreeze', args, signal);
  }

  snapshotActivate(args: Args<'snapshotActivate'>, signal?: AbortSignal): Promise<null> {
    return this.#call('snapshotActivate', args, signal);
  }

  snapshotDrop(args: Args<'snapshotDrop'>, signal?: AbortSignal): Promise<null> {
    return this.#call('snapshotDrop', args, signal);
  }

  statfs(target: string, signal?: AbortSignal): Promise<StatTarget> {
    return this.#call('statfs', { target }, signal);
  }

  close(): void {
    this.#rpc.close();
  }

  async #call<M extends keyof OssMethods>(
    method: M,
    args: Args<M>,
    signal: AbortSignal | undefined,
  ): Promise<OssMethods[M]['result']> {
    const { result } = await this.#rpc.call<OssMethods[M]['result']>(method, args, { signal });
    return result;
  }
}
