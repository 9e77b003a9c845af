// RPC client: calls with deadlines over one multiplexed connection, reconnecting on demand.
import net from 'node:net';
import {
  DeadlineExceededError,
  errorFromCode,
  FsError,
  NacreError,
  UnavailableError,
} from '../../lib/errors.ts';
import { connectOptions } from './address.ts';
import { encodeFrame, FrameDecoder, KIND_ERROR, KIND_PUSH, KIND_REPLY } from './frame.ts';
import { authenticateToServer, type DataPlaneSecurity, dataPlaneSecurity } from './handshake.ts';
import { connectTls, isTlsFailure, tlsError } from './tls.ts';

export interface CallOptions {
  payload?: Buffer | undefined;
  signal?: AbortSignal | undefined;
  /** Deadline for this call; defaults to the client's. */
  timeoutMs?: number | undefined;
}

export interface CallResult<T> {
  result: T;
  payload: Buffer | undefined;
}

/** The connection being set up, for the handshake's own calls. */
export interface Handshake {
  call<T = unknown>(method: string, args: unknown, opts?: CallOptions): Promise<CallResult<T>>;
}

/** Bytes of each connection's read buffer (the most one socket read hands over). */
const READ_BUFFER = 256 * 1024;

interface Pending {
  resolve(r: CallResult<unknown>): void;
  reject(e: Error): void;
}

export interface RpcClientOptions {
  address: string;
  /** Default deadline of a call, including connecting (ms). */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** Server notifications. */
  onPush?: (method: string, args: unknown) => void;
  /**
   * Called after every (re)connection; other calls wait until it resolves. If it rejects, the
   * connection is closed and the calls waiting for it reject with its error.
   */
  onConnect?: (connection: Handshake) => Promise<void>;
  /** Key (and TLS) of the data plane; default: the process's (configureDataPlane). */
  security?: DataPlaneSecurity;
}

/**
 * A connection to one server. `call` rejects with FsError for file-system errors the server
 * returned, UnavailableError when the server cannot be reached or the connection dropped while
 * the call was in flight (it may or may not have run), DeadlineExceededError past the deadline,
 * and NacreError with the server's code otherwise. It never retries by itself.
 */
export class RpcClient {
  readonly address: string;
  readonly #opts: RpcClientOptions;
  #socket: net.Socket | undefined;
  #connecting: Promise<net.Socket> | undefined;
  /** The socket of #connecting, until its handshake is done: close() ends it too. */
  #opening: net.Socket | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #closed = false;

  constructor(opts: RpcClientOptions) {
    this.address = opts.address;
    connectOptions(opts.address);
    this.#opts = opts;
  }

  async call<T = unknown>(method: string, args: unknown, opts: CallOptions = {}): Promise<CallResult<T>> {
    const timeoutMs = opts.timeoutMs ?? this.#opts.timeoutMs ?? 30_000;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
    signal.throwIfAborted();
    const socket = await this.#connect(signal);
    return this.#send<T>(socket, method, args, opts.payload, signal, deadline, timeoutMs);
  }

  #send<T>(
    socket: net.Socket,
    method: string,
    args: unknown,
    payload: Buffer | undefined,
    signal: AbortSignal,
    deadline: AbortSignal,
    timeoutMs: number,
  ): Promise<CallResult<T>> {
    if (socket.destroyed) return Promise.reject(new UnavailableError(`connection to ${this.address} closed`));
    this.#nextId = (this.#nextId + 1) >>> 0 || 1;
    const id = this.#nextId;
    return new Promise<CallResult<T>>((resolve, reject) => {
      const onAbort = () => {
        this.#pending.delete(id);
        reject(
          deadline.aborted
            ? new DeadlineExceededError(`${method} to ${this.address} took longer than ${timeoutMs} ms`)
            : new FsError('EINTR', `${method} interrupted`),
        );
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, {
        resolve: (r) => {
          signal.removeEventListener('abort', onAbort);
          resolve(r as CallResult<T>);
        },
        reject: (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      const buffers = encodeFrame(1, id, { m: method, a: args }, payload);
      socket.cork();
      for (const b of buffers) socket.write(b);
      socket.uncork();
    });
  }

  /** Closes the connection (also one still in its handshake); in-flight calls fail with UnavailableError. */
  close(): void {
    this.#closed = true;
    this.#socket?.destroy();
    this.#opening?.destroy();
  }

  async #connect(signal: AbortSignal): Promise<net.Socket> {
    if (this.#closed) throw new UnavailableError(`client for ${this.address} is closed`);
    if (this.#socket && !this.#socket.destroyed) return this.#socket;
    this.#connecting ??= this.#open().finally(() => {
      this.#connecting = undefined;
    });
    return await raceAbort(this.#connecting, signal, this.address);
  }

  async #open(): Promise<net.Socket> {
    const connectTimeout = this.#opts.connectTimeoutMs ?? 5_000;
    const security = this.#opts.security ?? dataPlaneSecurity();
    const decoder = new FrameDecoder();
    let connected: net.Socket | undefined;
    // Replies are read into one buffer per connection and copied out only where they must be kept
    // (a bulk payload straight into its own buffer): no allocation per socket read.
    const onread = {
      buffer: Buffer.allocUnsafeSlow(READ_BUFFER),
      callback: (n: number, buf: Uint8Array) => {
        try {
          const chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
          for (const f of decoder.pushTransient(chunk)) this.#receive(f.kind, f.id, f.header, f.payload);
        } catch {
          connected?.destroy();
        }
        return true;
      },
    };
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const options = { ...connectOptions(this.address), onread };
      const s = security.tls ? connectTls(options, security.tls) : net.connect(options);
      connected = s;
      this.#opening = s;
      const timer = setTimeout(() => {
        s.destroy();
        reject(new UnavailableError(`connecting to ${this.address} timed out after ${connectTimeout} ms`));
      }, connectTimeout);
      // close() while connecting destroys the socket without an error.
      s.once('close', () => {
        clearTimeout(timer);
        reject(new UnavailableError(`client for ${this.address} is closed`));
      });
      s.once(security.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        if (isTlsFailure(err)) reject(tlsError(this.address, err));
        else reject(new UnavailableError(`cannot reach ${this.address}: ${err.message}`, { cause: err }));
      });
    });
    if (this.#closed) {
      socket.destroy();
      throw new UnavailableError(`client for ${this.address} is closed`);
    }
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.#socket === socket) this.#socket = undefined;
      const err = new UnavailableError(`connection to ${this.address} closed`);
      for (const [id, p] of this.#pending) {
        this.#pending.delete(id);
        p.reject(err);
      }
    });
    const key = security.key;
    if (this.#opts.onConnect || key) {
      // The handshakes run on this socket before any other call may use it.
      const direct: Handshake = {
        call: <T>(method: string, args: unknown, opts: CallOptions = {}) => {
          const timeoutMs = opts.timeoutMs ?? this.#opts.timeoutMs ?? 30_000;
          const deadline = AbortSignal.timeout(timeoutMs);
          const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
          return this.#send<T>(socket, method, args, opts.payload, signal, deadline, timeoutMs);
        },
      };
      try {
        if (key) await authenticateToServer(direct, key, this.address);
        await this.#opts.onConnect?.(direct);
      } catch (err) {
        socket.destroy();
        throw err;
      } finally {
        this.#opening = undefined;
      }
    }
    this.#opening = undefined;
    if (this.#closed) {
      socket.destroy();
      throw new UnavailableError(`client for ${this.address} is closed`);
    }
    this.#socket = socket;
    return socket;
  }

  #receive(kind: number, id: number, header: unknown, payload: Buffer | undefined): void {
    const h = (header ?? {}) as { r?: unknown; e?: unknown; msg?: unknown; m?: unknown; a?: unknown };
    if (kind === KIND_PUSH) {
      if (typeof h.m === 'string') this.#opts.onPush?.(h.m, h.a);
      return;
    }
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    if (kind === KIND_REPLY) p.resolve({ result: h.r, payload });
    else if (kind === KIND_ERROR) p.reject(errorFromCode(String(h.e), String(h.msg ?? h.e)));
  }
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal, address: string): Promise<T> {
  if (signal.aborted) return Promise.reject(new DeadlineExceededError(`connecting to ${address}: deadline`));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new DeadlineExceededError(`connecting to ${address}: deadline passed`));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new NacreError('Unknown', String(e)));
      },
    );
  });
}
