// RPC server: method handlers over framed TCP or unix-socket connections, with per-connection sessions and pushes.
import { rm } from 'node:fs/promises';
import net from 'node:net';
import { FsError, NacreError, ValidationError } from '../../lib/errors.ts';
import { type Logger, logger } from '../../lib/log.ts';
import { formatTcpAddress } from './address.ts';
import { encodeFrame, FrameDecoder, KIND_ERROR, KIND_PUSH, KIND_REPLY, KIND_REQUEST } from './frame.ts';
import {
  type DataPlaneSecurity,
  dataPlaneSecurity,
  SERVER_HANDSHAKE_MS,
  ServerHandshake,
} from './handshake.ts';
import { RejectionLog, type RejectionReason } from './rejections.ts';
import { gateFrame } from './server-gate.ts';
import { acceptTls, isTlsHello, TLS_HANDSHAKE_FAILURE } from './tls.ts';

/** One client connection. Handlers may keep per-connection state in `data`. */
export interface ServerSession {
  readonly id: number;
  readonly remote: string;
  readonly data: Map<string, unknown>;
  /** Sends a notification the client receives through its `onPush`. Dropped if the connection is gone. */
  push(method: string, args: unknown): void;
  onClose(listener: () => void): void;
  readonly closed: boolean;
}

export interface CallContext {
  session: ServerSession;
  /** Aborted when the connection closes or the server stops. */
  signal: AbortSignal;
}

/** A handler's answer when it returns bulk data beside the JSON result. */
export class Reply {
  readonly result: unknown;
  readonly payload: Buffer | undefined;
  /** Called once the payload has been written to the connection, or will not be (its memory may then be reused). */
  readonly sent: (() => void) | undefined;
  constructor(result: unknown, payload?: Buffer, sent?: () => void) {
    this.result = result;
    this.payload = payload;
    this.sent = sent;
  }
}

/**
 * Handles one method. Validates its own `args` (they come from the network) and throws FsError for
 * file-system errors or NacreError for others; anything else is reported to the caller as EIO.
 */
export type Handler = (args: unknown, payload: Buffer | undefined, ctx: CallContext) => Promise<unknown>;

/** Watches every RpcServer in the process (metrics): calls, their outcome and size, and connections. */
export interface RpcObserver {
  /** One finished call; `outcome` is "ok" or the error code; `args` are the caller's, unchecked. */
  call(
    server: string,
    method: string,
    args: unknown,
    outcome: string,
    seconds: number,
    bytesIn: number,
    bytesOut: number,
  ): void;
  /** A connection opened (+1) or closed (-1); `unix` for unix-socket clients. */
  connection(server: string, delta: 1 | -1, unix: boolean): void;
  /** A connection dropped or a call refused before any handler ran (malformed frame, authentication). */
  rejected?(server: string, reason: RejectionReason): void;
}

const observers = new Set<RpcObserver>();

/** Adds an observer of every RpcServer in this process; returns its removal. */
export function observeRpcServers(observer: RpcObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

let nextSessionId = 1;

export class RpcServer {
  readonly #handlers = new Map<string, Handler>();
  readonly #sockets = new Set<net.Socket>();
  readonly #log: Logger;
  readonly #name: string;
  readonly #server: net.Server;
  readonly #stop = new AbortController();
  #unixPath: string | undefined;
  readonly #connectListeners: ((session: ServerSession) => void)[] = [];
  readonly #key: Buffer | undefined;
  readonly #rejections: RejectionLog;

  /** `security` defaults to the process's (configureDataPlane); with a key, every connection must authenticate first. */
  constructor(name: string, opts: { security?: DataPlaneSecurity } = {}) {
    this.#log = logger(name);
    this.#name = name;
    this.#key = (opts.security ?? dataPlaneSecurity()).key;
    this.#rejections = new RejectionLog(this.#log);
    const tlsFiles = (opts.security ?? dataPlaneSecurity()).tls;
    this.#server = net.createServer((socket) => {
      if (!tlsFiles) return this.#accept(socket, socket);
      if (this.#stop.signal.aborted) return void socket.destroy();
      // Tracked from the first byte, so close() also ends connections still in their TLS handshake.
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      socket.on('error', () => {});
      const remote = peerName(socket);
      acceptTls(
        socket,
        tlsFiles,
        (secure) => this.#accept(secure, socket),
        (reason, detail) => this.#refused(reason, remote, detail),
      );
    });
  }

  handle(method: string, handler: Handler): this {
    this.#handlers.set(method, handler);
    return this;
  }

  onConnect(listener: (session: ServerSession) => void): void {
    this.#connectListeners.push(listener);
  }

  /** Listens on TCP (`{host, port}`, port 0 picks one) or a unix socket (`{path}`). Returns the address string. */
  async listen(where: { host: string; port: number } | { path: string }): Promise<string> {
    if ('path' in where) await rm(where.path, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen('path' in where ? where.path : { host: where.host, port: where.port }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    if ('path' in where) {
      this.#unixPath = where.path;
      return `unix:${where.path}`;
    }
    const addr = this.#server.address() as net.AddressInfo;
    return formatTcpAddress(addr.address, addr.port);
  }

  /** Stops accepting, aborts in-flight calls and closes every connection. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.#rejections.close();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    if (this.#unixPath) await rm(this.#unixPath, { force: true });
  }

  #refused(reason: RejectionReason, remote: string, detail: string): void {
    this.#rejections.record(reason, remote, detail);
    for (const o of observers) o.rejected?.(this.#name, reason);
  }

  /** `peer` is the TCP or unix socket under `socket` (the same one without TLS). */
  #accept(socket: net.Socket, peer: net.Socket): void {
    if (this.#stop.signal.aborted) {
      socket.destroy();
      return;
    }
    peer.setNoDelay(true);
    this.#sockets.add(socket);
    const connection = new AbortController();
    const closeListeners: (() => void)[] = [];
    const session: ServerSession = {
      id: nextSessionId++,
      remote: peerName(peer),
      data: new Map(),
      push: (method, args) => {
        if (!socket.destroyed) write(socket, encodeFrame(KIND_PUSH, 0, { m: method, a: args }));
      },
      onClose: (l) => closeListeners.push(l),
      get closed() {
        return socket.destroyed;
      },
    };
    const signal = AbortSignal.any([connection.signal, this.#stop.signal]);
    const decoder = new FrameDecoder();
    const handshake = this.#key ? new ServerHandshake(this.#key, this.#name) : undefined;
    const reject = (reason: RejectionReason, detail: string) => this.#refused(reason, session.remote, detail);
    const handshakeTimer = handshake
      ? setTimeout(() => {
          reject('auth-timeout', `not authenticated within ${SERVER_HANDSHAKE_MS} ms`);
          socket.destroy();
        }, SERVER_HANDSHAKE_MS)
      : undefined;
    let first = socket === peer;
    socket.on('data', (chunk: Buffer) => {
      const opening = first;
      first = false;
      if (opening && isTlsHello(chunk)) {
        // A TLS client on this plaintext server: a TLS alert makes it fail at once, saying so, instead of retrying.
        reject('malformed', 'a TLS client on a plaintext server');
        socket.end(TLS_HANDSHAKE_FAILURE);
        return;
      }
      try {
        for (const frame of decoder.push(chunk)) {
          if (frame.kind !== KIND_REQUEST) throw new ValidationError(`unexpected frame kind ${frame.kind}`);
          if (handshake && !handshake.authenticated) {
            // Nothing but the handshake runs before the client has proved it holds the key.
            const done = gateFrame(socket, handshake, frame, reject);
            if (done === 'refused') return;
            if (done === 'authenticated') clearTimeout(handshakeTimer);
            continue;
          }
          void this.#dispatch(socket, frame.id, frame.header, frame.payload, { session, signal });
        }
      } catch (err) {
        reject('malformed', String(err));
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    const unix = peer.remoteAddress === undefined;
    for (const o of observers) o.connection(this.#name, 1, unix);
    socket.on('close', () => {
      clearTimeout(handshakeTimer);
      this.#sockets.delete(socket);
      for (const o of observers) o.connection(this.#name, -1, unix);
      connection.abort();
      for (const l of closeListeners) {
        try {
          l();
        } catch (err) {
          this.#log.error('session close listener failed', { error: String(err) });
        }
      }
    });
    for (const l of this.#connectListeners) l(session);
  }

  async #dispatch(
    socket: net.Socket,
    id: number,
    header: unknown,
    payload: Buffer | undefined,
    ctx: CallContext,
  ) {
    let method = '?';
    const started = observers.size > 0 ? performance.now() : 0;
    let outcome = 'ok';
    let bytesOut = 0;
    try {
      if (
        typeof header !== 'object' ||
        header === null ||
        typeof (header as { m?: unknown }).m !== 'string'
      ) {
        throw new FsError('EINVAL', 'request header must be {"m": method, "a": args}');
      }
      method = (header as { m: string }).m;
      const handler = this.#handlers.get(method);
      if (!handler) throw new NacreError('UnknownMethod', `no such method "${method}"`);
      const out = await handler((header as { a?: unknown }).a, payload, ctx);
      if (out instanceof Reply) bytesOut = out.payload?.length ?? 0;
      if (socket.destroyed) {
        if (out instanceof Reply) out.sent?.();
        return;
      }
      if (out instanceof Reply)
        write(socket, encodeFrame(KIND_REPLY, id, { r: out.result }, out.payload), out.sent);
      else write(socket, encodeFrame(KIND_REPLY, id, { r: out ?? null }));
    } catch (err) {
      const code = err instanceof NacreError ? err.code : 'EIO';
      outcome = code;
      if (socket.destroyed) return;
      const message = err instanceof Error ? err.message : String(err);
      if (!(err instanceof NacreError)) this.#log.error('handler failed', { method, error: message });
      else this.#log.debug('handler error', { method, code, message });
      write(socket, encodeFrame(KIND_ERROR, id, { e: code, msg: message }));
    } finally {
      if (observers.size > 0) {
        const seconds = (performance.now() - started) / 1000;
        const args = (header as { a?: unknown } | null)?.a;
        for (const o of observers)
          o.call(this.#name, method, args, outcome, seconds, payload?.length ?? 0, bytesOut);
      }
    }
  }
}

function peerName(socket: net.Socket): string {
  return socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
}

/** Writes a frame's buffers; `done` runs once the last has been written or failed to be. */
function write(socket: net.Socket, buffers: Buffer[], done?: () => void): void {
  const cb = done && (() => done());
  if (buffers.length === 1) socket.write(buffers[0]!, cb);
  else {
    socket.cork();
    for (const [i, b] of buffers.entries()) socket.write(b, i === buffers.length - 1 ? cb : undefined);
    socket.uncork();
  }
}
