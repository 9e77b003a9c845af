// One striped-client connection per shared file system, opened on first use and reused by every sub-directory volume call.
import type { DirFileSystem, SharedFs } from './dir-volumes.ts';

/** Opens a client of the file system at MGS `dnsName` named `mountName`; rejects with FsError when it cannot. */
export type ConnectFileSystem = (
  target: { dnsName: string; mountName: string },
  signal: AbortSignal,
) => Promise<DirFileSystem & { close(): Promise<void> }>;

/** Connections by file system; a failed connect is forgotten so the next call tries again. */
export class FileSystemConnections {
  readonly #connect: ConnectFileSystem;
  readonly #open = new Map<string, Promise<DirFileSystem & { close(): Promise<void> }>>();

  constructor(connect: ConnectFileSystem) {
    this.#connect = connect;
  }

  get(shared: SharedFs, signal: AbortSignal): Promise<DirFileSystem> {
    const key = `${shared.dnsName}@tcp:/${shared.mountName}`;
    let p = this.#open.get(key);
    if (!p) {
      // Not bound to this call's signal: the connection outlives the call that opened it.
      p = this.#connect(
        { dnsName: shared.dnsName, mountName: shared.mountName },
        AbortSignal.timeout(30_000),
      );
      this.#open.set(key, p);
      p.catch(() => {
        if (this.#open.get(key) === p) this.#open.delete(key);
      });
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    return p;
  }

  async close(): Promise<void> {
    const all = [...this.#open.values()];
    this.#open.clear();
    await Promise.allSettled(all.map(async (p) => (await p).close()));
  }
}
