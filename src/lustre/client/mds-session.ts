// The client's MDS connection: the connect handshake on every (re)connection, xids, retries while the MDS is away, invalidation pushes.
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineExceededError, FsError, NacreError, UnavailableError } from '../../lib/errors.ts';
import { type Logger, logger } from '../../lib/log.ts';
import type { MdsMethod, MdsMethods } from '../protocol/mds-messages.ts';
import { type Handshake, RpcClient } from '../protocol/rpc-client.ts';
import type { InvalidateEvent } from '../types.ts';

/** How often an idle session checks in with the MDS (and reconnects after a restart). */
/** Keep-alive interval until the MDS announces its grace periods, and its bounds after. */
const KEEPALIVE_MS = 2_000;
const KEEPALIVE_MIN_MS = 100;
const KEEPALIVE_MAX_MS = 10_000;

/** Three keep-alives fit in the shortest grace period the MDS announced (its locks' or its eviction's). */
export function keepaliveMs(graceMs: number, lockGraceMs: number | undefined): number {
  const grace = Math.min(graceMs, lockGraceMs ?? graceMs);
  return Math.max(KEEPALIVE_MIN_MS, Math.min(KEEPALIVE_MAX_MS, Math.floor(grace / 3)));
}

/** The MDS methods that change the namespace and so carry an xid. */
export type MdsMutation = {
  [M in MdsMethod]: MdsMethods[M]['args'] extends { xid: number } ? M : never;
}[MdsMethod];

type Args<M extends MdsMethod> = MdsMethods[M]['args'];
type Result<M extends MdsMethod> = MdsMethods[M]['result'];

export interface MdsSessionOptions {
  /** "host:port" or "unix:/path" of the MDS. */
  address: string;
  clientId: string;
  host: string;
  /** The file system whose MDT to attach to (an MDS may serve several). */
  fsname?: string;
  /** Deadline of one attempt (ms). Default 30 s. */
  callTimeoutMs?: number;
  /** How long a call keeps retrying while the MDS is unreachable (ms). Default 60 s. */
  retryDeadlineMs?: number;
  onInvalidate?: (event: InvalidateEvent) => void;
  /** The flock/POSIX locks to re-assert after every (re)connection (lock replay: an MDS that restarted holds none). */
  replay?: () => Args<'lockReplay'>;
  /** After every (re)connection to the MDS: state the MDS keeps only in memory (quota grants) may be gone. */
  onConnect?: () => void;
  /**
   * Before every (re)connection: the MDS drops a client's cache locks when it connects (and forgot
   * them all if it restarted), so whatever was cached under them must go first.
   */
  beforeConnect?: () => Promise<void>;
  /** Every other push from the MDS (e.g. `blockingAst` for the client's lock cache). */
  onPush?: (method: string, args: unknown) => void;
  /**
   * Where the MDS is now (from the MGS). Asked while the MDS stays unreachable, at most once per
   * second; a different answer moves the session there (an MDS restarted on another address).
   */
  locate?: (signal: AbortSignal) => Promise<string>;
}

const FIRST_BACKOFF_MS = 20;
const MAX_BACKOFF_MS = 1_000;

/**
 * One client's session with the MDS. Every call resolves with the MDS's reply or rejects with an
 * FsError: the MDS's own errno unchanged; EINTR when the caller's signal aborts; EIO when the MDS
 * stayed unreachable past the retry deadline or answered with something that is not an errno.
 * While the MDS is unreachable (refused, connection dropped, attempt deadline) calls are retried
 * with backoff; a mutation is retried with the same xid, which the MDS's reply cache turns into
 * exactly-once. Xids grow monotonically from the time the session was made, so a client
 * restarting with the same clientId does not collide with its earlier xids. During an outage the
 * session asks `locate` where the MDS went and follows it.
 */
export class MdsSession {
  readonly clientId: string;
  readonly #host: string;
  readonly #fsname: string | undefined;
  readonly #onInvalidate: ((event: InvalidateEvent) => void) | undefined;
  readonly #onConnect: (() => void) | undefined;
  readonly #replay: MdsSessionOptions['replay'];
  readonly #onPush: MdsSessionOptions['onPush'];
  readonly #beforeConnect: MdsSessionOptions['beforeConnect'];
  readonly #locate: MdsSessionOptions['locate'];
  #rpc: RpcClient;
  #locating: Promise<void> | undefined;
  #lastLocate = 0;
  readonly #callTimeoutMs: number;
  readonly #retryDeadlineMs: number;
  readonly #log: Logger;
  #xid: number;
  #rootIno = 1;

  constructor(opts: MdsSessionOptions) {
    this.clientId = opts.clientId;
    this.#host = opts.host;
    this.#fsname = opts.fsname;
    this.#callTimeoutMs = opts.callTimeoutMs ?? 30_000;
    this.#retryDeadlineMs = opts.retryDeadlineMs ?? 60_000;
    this.#log = logger('lustre-client', { fsname: opts.fsname });
    this.#xid = Date.now() * 1000;
    this.#onInvalidate = opts.onInvalidate;
    this.#onConnect = opts.onConnect;
    this.#replay = opts.replay;
    this.#onPush = opts.onPush;
    this.#beforeConnect = opts.beforeConnect;
    this.#locate = opts.locate;
    this.#rpc = this.#connection(opts.address);
    // An idle client reconnects within seconds of an MDS restart, keeping its locks and handles
    // (the MDS drops the locks of a client that stays away for its lock grace period).
    this.#keepalive = setInterval(() => this.#ping(), KEEPALIVE_MS);
    this.#keepalive.unref();
  }

  #keepalive: NodeJS.Timeout;
  #keepaliveMs = KEEPALIVE_MS;
  #closed = false;
  #pinging = false;

  /** The interval the MDS's grace periods call for (from the last connect). */
  get keepaliveMs(): number {
    return this.#keepaliveMs;
  }

  #setKeepalive(ms: number): void {
    if (ms === this.#keepaliveMs || this.#closed) return;
    this.#keepaliveMs = ms;
    clearInterval(this.#keepalive);
    this.#keepalive = setInterval(() => this.#ping(), ms);
    this.#keepalive.unref();
  }

  #ping(): void {
    if (this.#pinging) return;
    this.#pinging = true;
    this.#rpc
      .call('getattr', { ino: this.#rootIno }, { timeoutMs: this.#keepaliveMs })
      .catch(() => undefined)
      .finally(() => {
        this.#pinging = false;
      });
  }

  /** The MDS address the session talks to. */
  get address(): string {
    return this.#rpc.address;
  }

  /** Root inode the MDS announced at the last connect. */
  get rootIno(): number {
    return this.#rootIno;
  }

  /** The next xid of this session. */
  nextXid(): number {
    this.#xid += 1;
    return this.#xid;
  }

  /** A call that changes nothing (or is idempotent, as extendSize), retried while the MDS is away. */
  call<M extends MdsMethod>(method: M, args: Args<M>, signal?: AbortSignal): Promise<Result<M>> {
    return this.#retrying(method, args, signal);
  }

  /** A mutation under a fresh xid, retried with that same xid while the MDS is away. */
  mutate<M extends MdsMutation>(
    method: M,
    args: Omit<Args<M>, 'xid'>,
    signal?: AbortSignal,
  ): Promise<Result<M>> {
    const withXid = { ...args, xid: this.nextXid() } as Args<M>;
    return this.#retrying(method, withXid, signal);
  }

  /** Whether close() was called: every call fails at once with EIO. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the connection; calls in flight (retrying ones too) fail with EIO or EINTR. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#keepalive);
    this.#rpc.close();
  }

  #connection(address: string): RpcClient {
    return new RpcClient({
      address,
      timeoutMs: this.#callTimeoutMs,
      onConnect: (c) => this.#handshake(c),
      onPush: (method, args) => {
        if (method !== 'invalidate') {
          this.#onPush?.(method, args);
          return;
        }
        if (!this.#onInvalidate) return;
        const event = invalidateEvent(args);
        if (event) this.#onInvalidate(event);
        else this.#log.warn('ignoring a malformed invalidate push', { args });
      },
    });
  }

  /** Asks where the MDS is and moves there if it moved; never rejects. */
  #relocate(): Promise<void> {
    const locate = this.#locate;
    if (!locate || Date.now() - this.#lastLocate < 1_000) return Promise.resolve();
    this.#locating ??= (async () => {
      this.#lastLocate = Date.now();
      try {
        const address = await locate(AbortSignal.timeout(2_000));
        if (address === this.#rpc.address) return;
        this.#log.info('MDS moved; following it', { from: this.#rpc.address, to: address });
        const old = this.#rpc;
        this.#rpc = this.#connection(address);
        old.close();
      } catch (err) {
        this.#log.debug('cannot ask where the MDS is', { error: String(err) });
      } finally {
        this.#locating = undefined;
      }
    })();
    return this.#locating;
  }

  async #handshake(c: Handshake): Promise<void> {
    await this.#beforeConnect?.();
    try {
      const { result } = await c.call<Result<'connect'>>('connect', this.#connectArgs());
      this.#rootIno = result.rootIno;
      this.#setKeepalive(keepaliveMs(result.graceMs, result.lockGraceMs));
      await this.#replayLocks((m, a) => c.call(m, a));
      this.#onConnect?.();
    } catch (err) {
      // EAGAIN: this MDS does not serve the file system yet (just created): retry like an outage.
      if (err instanceof FsError && err.code === 'EAGAIN')
        throw new UnavailableError(err.message, { cause: err });
      throw err;
    }
  }

  #connectArgs(): Args<'connect'> {
    return {
      clientId: this.clientId,
      host: this.#host,
      ...(this.#fsname !== undefined && { fsname: this.#fsname }),
    };
  }

  /** Calls that found the MDS unreachable at least once and are still waiting for it. */
  get waiting(): number {
    return this.#waiting;
  }

  #waiting = 0;

  async #retrying<M extends MdsMethod>(
    method: M,
    args: Args<M>,
    signal: AbortSignal | undefined,
  ): Promise<Result<M>> {
    let counted = false;
    try {
      return await this.#retryLoop(method, args, signal, () => {
        if (!counted) this.#waiting++;
        counted = true;
      });
    } finally {
      if (counted) this.#waiting--;
    }
  }

  async #retryLoop<M extends MdsMethod>(
    method: M,
    args: Args<M>,
    signal: AbortSignal | undefined,
    unreachable: () => void,
  ): Promise<Result<M>> {
    const giveUpAt = Date.now() + this.#retryDeadlineMs;
    let backoff = FIRST_BACKOFF_MS;
    let attempts = 0;
    for (;;) {
      if (signal?.aborted) throw new FsError('EINTR', `${method} interrupted`);
      if (this.#closed) throw closedError(method);
      const timeoutMs = Math.max(1, Math.min(this.#callTimeoutMs, giveUpAt - Date.now()));
      let err: unknown;
      try {
        const { result } = await this.#rpc.call<Result<M>>(method, args, { signal, timeoutMs });
        if (attempts > 0) this.#log.info('MDS answered again', { method, attempts });
        return result;
      } catch (e) {
        err = e;
      }
      attempts++;
      if (signal?.aborted) throw new FsError('EINTR', `${method} interrupted`, { cause: err });
      if (this.#closed) throw closedError(method);
      if (err instanceof FsError && err.code === 'ENOTCONN') {
        // The session lost its attachment (a failed handshake left the socket up): attach again.
        await this.#reattach(signal).catch(() => undefined);
      } else if (err instanceof FsError) {
        throw err;
      } else if (!(err instanceof UnavailableError || err instanceof DeadlineExceededError)) {
        throw unexpected(method, this.address, err);
      }
      unreachable();
      if (Date.now() + backoff > giveUpAt) {
        const why = err instanceof Error ? err.message : String(err);
        this.#log.warn('EIO to the application: the MDS stayed unreachable', {
          mds: this.address,
          call: method,
          waitedMs: this.#retryDeadlineMs,
          error: why,
        });
        throw new FsError(
          'EIO',
          `MDS ${this.address} unreachable for ${this.#retryDeadlineMs} ms (${method}): ${why}`,
          { cause: err },
        );
      }
      if (attempts === 1) {
        this.#log.warn('MDS unavailable; retrying', { mds: this.address, method, error: String(err) });
      }
      await pause(backoff, signal, method);
      if (attempts >= 2) await untilAborted(this.#relocate(), signal);
      backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
    }
  }

  /** Connects again on the current connection (after an eviction: the MDS then serves this client again). */
  reconnect(signal?: AbortSignal): Promise<void> {
    return this.#reattach(signal);
  }

  async #reattach(signal: AbortSignal | undefined): Promise<void> {
    if (this.#closed) throw closedError('connect');
    if (this.#beforeConnect) await untilAborted(this.#beforeConnect(), signal);
    if (signal?.aborted) throw new FsError('EINTR', 'connect interrupted');
    const { result } = await this.#rpc.call<Result<'connect'>>('connect', this.#connectArgs(), { signal });
    this.#rootIno = result.rootIno;
    await this.#replayLocks((m, a) => this.#rpc.call(m, a, { signal }));
    this.#onConnect?.();
  }

  /**
   * Re-asserts this client's locks on the connection just made (before anything else is sent on
   * it). A lock the MDS cannot grant again (its recovery window is over and another client took
   * it) is lost: said at error, as the application holding it is no longer protected.
   */
  async #replayLocks(call: (method: 'lockReplay', args: Args<'lockReplay'>) => Promise<{ result: unknown }>) {
    // Sent even with nothing to re-assert: the MDS's recovery window then need not wait for this client.
    const args = this.#replay?.() ?? { posix: [], flocks: [] };
    try {
      const { result } = await call('lockReplay', args);
      const lost = (result as Result<'lockReplay'>).lost;
      if (lost > 0)
        this.#log.error('locks lost across an MDS restart: another client holds them now', { lost });
    } catch (err) {
      this.#log.error('cannot re-assert locks to the MDS', {
        locks: args.posix.length + args.flocks.length,
        error: String(err),
      });
    }
  }
}

async function pause(ms: number, signal: AbortSignal | undefined, method: string): Promise<void> {
  const jittered = ms / 2 + Math.random() * (ms / 2);
  try {
    await sleep(jittered, undefined, signal ? { signal } : {});
  } catch (err) {
    throw new FsError('EINTR', `${method} interrupted`, { cause: err });
  }
}

/** Resolves when `p` does or `signal` aborts, whichever comes first (`p` never rejects, or its rejection is the caller's). */
function untilAborted(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p;
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    p.then(done, (err: unknown) => {
      signal.removeEventListener('abort', done);
      reject(err instanceof Error ? err : new Error(String(err)));
    });
  });
}

function closedError(method: string): FsError {
  return new FsError('EIO', `${method}: the client is closed (unmounted)`);
}

function unexpected(method: string, address: string, err: unknown): FsError {
  const code = err instanceof NacreError ? err.code : 'error';
  const why = err instanceof Error ? err.message : String(err);
  return new FsError('EIO', `MDS ${address} failed ${method} (${code}): ${why}`, { cause: err });
}

/** An `invalidate` push's arguments as an InvalidateEvent, or undefined if malformed. */
export function invalidateEvent(args: unknown): InvalidateEvent | undefined {
  if (typeof args !== 'object' || args === null) return undefined;
  const a = args as Record<string, unknown>;
  if (a['kind'] === 'inode' && typeof a['ino'] === 'number') return { kind: 'inode', ino: a['ino'] };
  if (a['kind'] === 'entry' && typeof a['parent'] === 'number' && typeof a['name'] === 'string') {
    return { kind: 'entry', parent: a['parent'], name: a['name'] };
  }
  return undefined;
}
