// A TargetAllocator in memory for tests: records calls, can hold calls open or fail them on demand.

import type { TargetAllocator } from '../../src/fsx/server/file-systems/target-allocator.ts';
import { UnavailableError } from '../../src/lib/errors.ts';
import type {
  CreateFileSystemRequest,
  FileSystemConfig,
  TargetConfig,
} from '../../src/lustre/protocol/mgs-messages.ts';
import type { RootSquash } from '../../src/lustre/protocol/root-squash.ts';

function target(fsname: string, kind: 'MDT' | 'OST', index: number, capacityBytes: number): TargetConfig {
  return {
    target: `${fsname}-${kind}${index.toString(16).padStart(4, '0')}`,
    index,
    server: `fake-${kind.toLowerCase()}`,
    address: '127.0.0.1:1',
    host: 'fake',
    capacityBytes,
  };
}

export class FakeAllocator implements TargetAllocator {
  readonly fileSystems = new Map<string, FileSystemConfig>();
  readonly calls: string[] = [];
  /** The next calls fail with this error (UnavailableError is retried by the API). */
  failWith: Error | undefined;
  /** Calls that fail with UnavailableError before they start to succeed. */
  unavailableFor = 0;
  #held: { promise: Promise<void>; release: () => void } | undefined;

  /** Makes every call wait until the returned function is called. */
  hold(): () => void {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#held = { promise, release: resolve };
    return () => {
      this.#held = undefined;
      resolve();
    };
  }

  async #enter(call: string, signal: AbortSignal): Promise<void> {
    this.calls.push(call);
    if (this.#held) {
      const held = this.#held.promise;
      await new Promise<void>((resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        void held.then(resolve);
      });
    }
    if (this.unavailableFor > 0) {
      this.unavailableFor--;
      throw new UnavailableError('fake MGS unavailable');
    }
    if (this.failWith) throw this.failWith;
  }

  async createFileSystem(req: CreateFileSystemRequest, signal: AbortSignal): Promise<FileSystemConfig> {
    await this.#enter(
      `create ${req.fsname} osts=${req.ostCount} bytes=${req.ostCapacityBytes} replicas=${req.replicas}`,
      signal,
    );
    const cfg: FileSystemConfig = {
      fsname: req.fsname,
      mdt: target(req.fsname, 'MDT', 0, 0),
      osts: Array.from({ length: req.ostCount }, (_, i) =>
        target(req.fsname, 'OST', i, req.ostCapacityBytes),
      ),
      defaultLayout: { stripeSize: 1 << 20, stripeCount: 1, stripeOffset: -1 },
      replicas: req.replicas ?? 1,
      generation: 1,
      ...(req.rootSquash && { rootSquash: req.rootSquash }),
    };
    this.fileSystems.set(req.fsname, cfg);
    return cfg;
  }

  async addOsts(
    fsname: string,
    count: number,
    bytes: number,
    signal: AbortSignal,
  ): Promise<FileSystemConfig> {
    await this.#enter(`addOsts ${fsname} count=${count} bytes=${bytes}`, signal);
    const cfg = this.fileSystems.get(fsname);
    if (!cfg) throw new Error(`no file system ${fsname}`);
    for (let i = 0; i < count; i++) cfg.osts.push(target(fsname, 'OST', cfg.osts.length, bytes));
    cfg.generation++;
    return cfg;
  }

  async destroyFileSystem(fsname: string, signal: AbortSignal): Promise<void> {
    await this.#enter(`destroy ${fsname}`, signal);
    this.fileSystems.delete(fsname);
  }

  async getConfig(fsname: string, signal: AbortSignal): Promise<FileSystemConfig | undefined> {
    await this.#enter(`getConfig ${fsname}`, signal);
    return this.fileSystems.get(fsname);
  }

  async setRootSquash(fsname: string, rootSquash: RootSquash | null, signal: AbortSignal): Promise<void> {
    await this.#enter(`rootSquash ${fsname} ${JSON.stringify(rootSquash)}`, signal);
    const cfg = this.fileSystems.get(fsname);
    if (!cfg) throw new Error(`no file system ${fsname}`);
    if (rootSquash) cfg.rootSquash = rootSquash;
    else delete cfg.rootSquash;
  }
}
