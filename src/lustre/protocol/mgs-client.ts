// Typed client of the MGS: one method per MgsMethods call, each with an AbortSignal and the client's deadline.

import type { CreateFileSystemRequest, FileSystemConfig, MgsMethods, ServerInfo } from './mgs-messages.ts';
import type { RootSquash } from './root-squash.ts';
import { RpcClient } from './rpc-client.ts';

export interface MgsClientOptions {
  /** "host:port" of the MGS. */
  address: string;
  /** Deadline of each call (ms); creating a file system waits for the OSS servers, so keep it above 10 s. */
  timeoutMs?: number;
}

/**
 * Rejects as RpcClient does: FsError for errno codes (ENOENT for an unknown fsname, EEXIST for a
 * name taken with other parameters, EINVAL for bad arguments), UnavailableError when the MGS (or,
 * for create/add/destroy, an OSS it needs) cannot be reached, DeadlineExceededError, and NacreError
 * with the MGS's code otherwise ('InsufficientServers', 'ENOSPC').
 */
export class MgsClient {
  readonly #rpc: RpcClient;

  constructor(opts: MgsClientOptions) {
    this.#rpc = new RpcClient({ address: opts.address, timeoutMs: opts.timeoutMs ?? 60_000 });
  }

  get address(): string {
    return this.#rpc.address;
  }

  registerServer(info: ServerInfo, signal?: AbortSignal): Promise<null> {
    return this.#call('registerServer', info, signal);
  }

  listServers(signal?: AbortSignal): Promise<MgsMethods['listServers']['result']> {
    return this.#call('listServers', {}, signal);
  }

  createFileSystem(request: CreateFileSystemRequest, signal?: AbortSignal): Promise<FileSystemConfig> {
    return this.#call('createFileSystem', request, signal);
  }

  addOsts(
    fsname: string,
    count: number,
    ostCapacityBytes: number,
    signal?: AbortSignal,
  ): Promise<FileSystemConfig> {
    return this.#call('addOsts', { fsname, count, ostCapacityBytes }, signal);
  }

  destroyFileSystem(fsname: string, signal?: AbortSignal): Promise<null> {
    return this.#call('destroyFileSystem', { fsname }, signal);
  }

  getConfig(fsname: string, signal?: AbortSignal): Promise<FileSystemConfig> {
    return this.#call('getConfig', { fsname }, signal);
  }

  listFileSystems(signal?: AbortSignal): Promise<FileSystemConfig[]> {
    return this.#call('listFileSystems', {}, signal);
  }

  setRootSquash(
    fsname: string,
    rootSquash: RootSquash | null,
    signal?: AbortSignal,
  ): Promise<FileSystemConfig> {
    return this.#call('setRootSquash', { fsname, rootSquash }, signal);
  }

  close(): void {
    this.#rpc.close();
  }

  async #call<M extends keyof MgsMethods>(
    method: M,
    args: MgsMethods[M]['args'],
    signal: AbortSignal | undefined,
  ): Promise<MgsMethods[M]['result']> {
    const { result } = await this.#rpc.call<MgsMethods[M]['result']>(method, args, { signal });
    return result;
  }
}
