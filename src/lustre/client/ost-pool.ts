// The client's OST connections: one OssClient per OSS (its unix socket when on this host), found by OST index, re-read from the MGS when a server moves.
import { DeadlineExceededError, FsError, UnavailableError } from '../../lib/errors.ts';
import { type Logger, logger } from '../../lib/log.ts';
import type { TargetConfig } from '../protocol/mgs-messages.ts';
import type { ObjectRange } from '../protocol/oss-batch-messages.ts';
import { OssClient } from '../protocol/oss-client.ts';
import type { OssMethods, StatTarget } from '../protocol/oss-messages.ts';

export interface OstPoolOptions {
  osts: readonly TargetConfig[];
  /** This client's host: OSTs on it are reached through their `localAddress` when they have one. */
  host: string;
  /** Deadline of one OSS call (ms). Default 30 s. */
  timeoutMs?: number;
  /** Fetches the current OST list (from the MGS) after a server could not be reached. */
  refresh?: (signal: AbortSignal) => Promise<readonly TargetConfig[]>;
  /** Least time between two refreshes (ms). Default 2 s. */
  refreshIntervalMs?: number;
}

interface Endpoint {
  config: TargetConfig;
  dial: string;
}

/** The address a client on `host` dials for a target. */
export function dialAddress(
  t: Pick<TargetConfig, 'address' | 'localAddress' | 'host'>,
  host: string,
): string {
  return t.localAddress && t.host === host ? t.localAddress : t.address;
}

/**
 * Calls on OST objects by OST index. Each call rejects as OssClient does (FsError for the OSS's
 * errno, UnavailableError when the server is unreachable, DeadlineExceededError past the deadline)
 * except ENODEV (the server no longer has the target), which becomes UnavailableError so callers
 * treat a moved or lost target like a lost server. An unknown OST index is EIO. When a call finds
 * its server unreachable, the pool asks `refresh` for the current addresses (at most once per
 * interval) and, if the OST moved, repeats the call once at the new address.
 */
export class OstPool {
  readonly #host: string;
  readonly #timeoutMs: number;
  readonly #refresh: OstPoolOptions['refresh'];
  readonly #refreshIntervalMs: number;
  readonly #log: Logger = logger('lustre-client');
  readonly #endpoints = new Map<number, Endpoint>();
  readonly #clients = new Map<string, OssClient>();
  /** Local sockets that could not be opened from here (another mount namespace or user): dial TCP instead. */
  readonly #unusableLocal = new Set<string>();
  #lastRefresh = 0;
  #refreshing: Promise<void> | undefined;
  #closed = false;

  constructor(opts: OstPoolOptions) {
    this.#host = opts.host;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#refresh = opts.refresh;
    this.#refreshIntervalMs = opts.refreshIntervalMs ?? 2_000;
    this.#apply(opts.osts);
  }

  /** Re-reads the OST list from the MGS (at most once per refresh interval), e.g. to see OSTs added since. */
  refresh(): Promise<void> {
    return this.#refreshNow();
  }

  /** OST indexes known, ascending. */
  indexes(): number[] {
    return [...this.#endpoints.keys()].sort((a, b) => a - b);
  }

  /** The target's configuration (for lfs df and messages). */
  config(ost: number): TargetConfig | undefined {
    return this.#endpoints.get(ost)?.config;
  }

  /** Target name of an index, or "OST<index>" when unknown (for messages). */
  name(ost: number): string {
    return this.#endpoints.get(ost)?.config.target ?? `OST index ${ost}`;
  }

  read(ost: number, object: string, offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    return this.#call(ost, signal, (c, target) => c.read({ target, object, offset, length }, signal));
  }

  /** Many ranges of the target's objects in one call (OssMethods.readMany). */
  readMany(ost: number, reads: ObjectRange[], signal?: AbortSignal): Promise<Buffer[]> {
    return this.#call(ost, signal, (c, target) => c.readMany({ target, reads }, signal));
  }

  async write(
    ost: number,
    object: string,
    offset: number,
    data: Buffer,
    signal?: AbortSignal,
  ): Promise<void> {
    const written = await this.#call(ost, signal, (c, target) =>
      c.write({ target, object, offset }, data, signal),
    );
    if (written !== data.length) {
      throw new FsError('EIO', `${this.name(ost)} wrote ${written} of ${data.length} bytes of ${object}`);
    }
  }

  /** The OSS fetches bytes of the object itself (OssMethods.fetchRange): its outcome. */
  fetchRange(
    ost: number,
    args: Omit<OssMethods['fetchRange']['args'], 'target'>,
    signal?: AbortSignal,
  ): Promise<OssMethods['fetchRange']['result']> {
    return this.#call(ost, signal, (c, target) => c.fetchRange({ target, ...args }, signal));
  }

  /** The CRC-32 (base64) of a range of the object, zeros past its end (OssMethods.rangeChecksum). */
  rangeChecksum(
    ost: number,
    args: Omit<OssMethods['rangeChecksum']['args'], 'target'>,
    signal?: AbortSignal,
  ): Promise<string> {
    return this.#call(ost, signal, (c, target) => c.rangeChecksum({ target, ...args }, signal));
  }

  /** The OSS PUTs a range of the object itself (OssMethods.uploadRange): its outcome. */
  uploadRange(
    ost: number,
    args: Omit<OssMethods['uploadRange']['args'], 'target'>,
    signal?: AbortSignal,
  ): Promise<OssMethods['uploadRange']['result']> {
    return this.#call(ost, signal, (c, target) => c.uploadRange({ target, ...args }, signal));
  }

  async punch(ost: number, object: string, size: number, signal?: AbortSignal): Promise<void> {
    await this.#call(ost, signal, (c, target) => c.punch({ target, object, size }, signal));
  }

  async sync(ost: number, object: string, signal?: AbortSignal): Promise<void> {
    await this.#call(ost, signal, (c, target) => c.sync({ target, object }, signal));
  }

  /** The object's size on the OST (0 for a missing object). */
  async objectSize(ost: number, object: string, signal?: AbortSignal): Promise<number> {
    const r = await this.#call(ost, signal, (c, target) => c.getattr({ target, object }, signal));
    return r?.size ?? 0;
  }

  /** Up to `length` bytes of the object as it was when snapshot `snapshot` was taken. */
  readSnapshot(
    snapshot: string,
    ost: number,
    object: string,
    offset: number,
    length: number,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    return this.#call(ost, signal, (c, target) =>
      c.read({ target, object, offset, length, snapshot }, signal),
    );
  }

  /** The object's size when snapshot `snapshot` was taken (0 if it did not exist). */
  async snapshotSize(snapshot: string, ost: number, object: string, signal?: AbortSignal): Promise<number> {
    const r = await this.#call(ost, signal, (c, target) => c.getattr({ target, object, snapshot }, signal));
    return r?.size ?? 0;
  }

  statfs(ost: number, signal?: AbortSignal): Promise<StatTarget> {
    return this.#call(ost, signal, (c, target) => c.statfs(target, signal));
  }

  close(): void {
    this.#closed = true;
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }

  async #call<T>(
    ost: number,
    signal: AbortSignal | undefined,
    fn: (client: OssClient, target: string) => Promise<T>,
  ): Promise<T> {
    // A layout may name an OST added since this client read the config (the file system grew).
    if (!this.#endpoints.has(ost)) await this.#refreshNow(true);
    let before = this.#endpoint(ost);
    try {
      return await this.#once(before, fn);
    } catch (first) {
      let err = first;
      if (!signal?.aborted && before.dial !== before.config.address && localSocketUnusable(err)) {
        before = this.#overTcp(ost, before, err);
        try {
          return await this.#once(before, fn);
        } catch (overTcp) {
          err = overTcp;
        }
      }
      if (!isUnreachable(err) || signal?.aborted || !this.#refresh) throw err;
      await this.#refreshNow();
      const after = this.#endpoint(ost);
      if (after.dial === before.dial && after.config.target === before.config.target) throw err;
      this.#log.info('OST moved; calling it at its new address', {
        ost: after.config.target,
        at: after.dial,
      });
      return await this.#once(after, fn);
    }
  }

  async #once<T>(e: Endpoint, fn: (client: OssClient, target: string) => Promise<T>): Promise<T> {
    try {
      return await fn(this.#client(e.dial, e.config), e.config.target);
    } catch (err) {
      if (err instanceof FsError && (err.code as string) === 'ENODEV') {
        throw new UnreachableTarget(`${e.config.target} is not on ${e.dial}: ${err.message}`, err);
      }
      throw err;
    }
  }

  /**
   * The OST's unix socket is on this host but cannot be opened here (a container without the
   * node's socket directory): from now on this client calls it over TCP.
   */
  #overTcp(ost: number, e: Endpoint, err: unknown): Endpoint {
    if (!this.#unusableLocal.has(e.dial))
      this.#log.info("cannot open the OST's unix socket on this host; using its TCP address", {
        ost: e.config.target,
        socket: e.dial,
        address: e.config.address,
        error: String(err),
      });
    this.#unusableLocal.add(e.dial);
    const tcp = { config: e.config, dial: e.config.address };
    if (this.#endpoints.get(ost) === e) this.#endpoints.set(ost, tcp);
    return tcp;
  }

  #endpoint(ost: number): Endpoint {
    const e = this.#endpoints.get(ost);
    if (!e)
      throw new FsError('EIO', `the layout names OST index ${ost}, which this file system does not have`);
    return e;
  }

  #client(dial: string, t: TargetConfig): OssClient {
    if (this.#closed) throw new FsError('EIO', 'the client is closed');
    let c = this.#clients.get(dial);
    if (!c) {
      const local = dial !== t.address ? { localAddress: dial } : {};
      c = new OssClient({ address: t.address, ...local, timeoutMs: this.#timeoutMs });
      this.#clients.set(dial, c);
    }
    return c;
  }

  #apply(osts: readonly TargetConfig[]): void {
    for (const t of osts) {
      const dial = dialAddress(t, this.#host);
      this.#endpoints.set(t.index, { config: t, dial: this.#unusableLocal.has(dial) ? t.address : dial });
    }
  }

  /** Re-reads the addresses; bounded by its own 5 s deadline. */
  #refreshNow(force = false): Promise<void> {
    const refresh = this.#refresh;
    if (!refresh) return Promise.resolve();
    if (!force && Date.now() - this.#lastRefresh < this.#refreshIntervalMs)
      return this.#refreshing ?? Promise.resolve();
    this.#refreshing ??= (async () => {
      this.#lastRefresh = Date.now();
      try {
        this.#apply(await refresh(AbortSignal.timeout(5_000)));
      } catch (err) {
        this.#log.warn('cannot refresh the OST list from the MGS', { error: String(err) });
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }
}

/** The target is not served where the config says (ENODEV from the OSS). */
export class UnreachableTarget extends UnavailableError {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
  }
}

/** Connecting to a unix socket failed because it is not there or not ours (not because its server is down). */
function localSocketUnusable(err: unknown): boolean {
  if (!(err instanceof UnavailableError)) return false;
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  return code === 'ENOENT' || code === 'EACCES' || code === 'EPERM' || code === 'ENOTDIR';
}

/** True for errors that mean "the server (or target) is not there", as opposed to an errno from it. */
export function isUnreachable(err: unknown): boolean {
  return err instanceof UnavailableError || err instanceof DeadlineExceededError;
}
