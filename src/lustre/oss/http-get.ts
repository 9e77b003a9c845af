// A lean HTTP/1.1 GET for bulk bodies (the OSS's S3 fetches): each connection reads into one reused buffer (socket `onread`) and hands the body over as views of it, kept alive for the next GET.
import net from 'node:net';
import tls from 'node:tls';

/** Bytes of each connection's read buffer (the most one socket read hands over). */
const READ_BUFFER = 256 * 1024;
/** Longest response head accepted (status line and headers). */
const MAX_HEAD = 64 * 1024;
/** Idle connections kept per origin, and how long one is kept. */
const MAX_IDLE = 64;
const IDLE_MS = 4_000;

/** Receives a body piece; `view` is valid only during the call (copy what must be kept). A promise pauses the socket until it settles. */
export type BodySink = (view: Buffer) => undefined | Promise<unknown>;

export interface GetResponse {
  status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /**
   * Reads the body into `sink`, at most `limit` bytes of it (the rest is not read and the
   * connection not reused). Resolves with whether the whole body arrived as the server framed it;
   * rejects when the connection fails, the deadline passes or a sink's promise rejects.
   */
  body(sink: BodySink, limit?: number): Promise<boolean>;
  /** Ends the exchange without reading (more of) the body: the connection is closed. */
  discard(): void;
}

export class HttpGetError extends Error {}

/** How a response body ends: after `remaining` bytes, by chunked framing, or when the server closes. */
type Framing = { kind: 'length'; remaining: number } | { kind: 'chunked' } | { kind: 'close' };

/** One connection and the exchange it serves (reads go to whichever exchange holds it). */
class Connection {
  readonly socket: net.Socket;
  /** Bytes of the current read, handed over by the socket. */
  onBytes: ((view: Buffer) => boolean) | undefined;
  onEnd: ((err: Error) => void) | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  reused = false;

  constructor(url: URL) {
    const onread = {
      buffer: Buffer.allocUnsafeSlow(READ_BUFFER),
      callback: (n: number, buf: Uint8Array) => {
        const view = Buffer.from(buf.buffer, buf.byteOffset, n);
        if (this.onBytes) return this.onBytes(view);
        this.socket.destroy(); // bytes nobody asked for (an idle connection): not one to reuse
        return false;
      },
    };
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    this.socket =
      url.protocol === 'https:'
        ? tls.connect({ host, port, servername: net.isIP(host) ? '' : host, onread } as tls.ConnectionOptions)
        : net.connect({ host, port, onread });
    this.socket.setNoDelay(true);
    this.socket.on('error', (err) => this.onEnd?.(err));
    this.socket.on('close', () => this.onEnd?.(new HttpGetError('the connection closed')));
  }
}

const idle = new Map<string, Connection[]>();

function takeIdle(origin: string): Connection | undefined {
  const list = idle.get(origin);
  for (let c = list?.pop(); c; c = list?.pop()) {
    clearTimeout(c.idleTimer);
    if (c.socket.destroyed) continue;
    c.socket.ref();
    return c;
  }
  return undefined;
}

function keepIdle(origin: string, c: Connection): void {
  c.onBytes = undefined;
  c.onEnd = () => c.socket.destroy();
  const list = idle.get(origin) ?? [];
  if (list.length >= MAX_IDLE) return void c.socket.destroy();
  list.push(c);
  idle.set(origin, list);
  c.reused = true;
  c.socket.unref(); // an idle connection does not keep the process alive
  c.idleTimer = setTimeout(() => {
    c.socket.destroy();
    const l = idle.get(origin);
    if (l) l.splice(l.indexOf(c) >>> 0, 1);
  }, IDLE_MS).unref();
}

/**
 * GETs `url` with `headers` (the Host header is the URL's). Resolves once the status line and
 * headers have arrived; rejects with HttpGetError (or the socket's error) when the connection
 * fails first, and with the signal's reason when it aborts. A kept-alive connection the server
 * closed meanwhile is replaced once, before any byte of the answer.
 */
export async function httpGet(
  url: URL,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<GetResponse> {
  signal.throwIfAborted();
  const origin = `${url.protocol}//${url.host}`;
  for (;;) {
    const reusing = takeIdle(origin);
    const c = reusing ?? new Connection(url);
    try {
      return await exchange(c, origin, url, headers, signal);
    } catch (err) {
      if (!(reusing && err instanceof StaleConnection)) throw err;
    }
  }
}

class StaleConnection extends Error {}

function exchange(
  c: Connection,
  origin: string,
  url: URL,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<GetResponse> {
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  c.socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return new Promise<GetResponse>((resolve, reject) => {
    let head = '';
    let got = 0;
    let failed: Error | undefined;
    /** The body reader once the head is in: its own handlers take the socket's bytes. */
    let reader: BodyReader | undefined;
    const fail = (err: Error) => {
      failed ??= err;
      signal.removeEventListener('abort', onAbort);
      c.socket.destroy();
      if (reader) reader.fail(failed);
      else reject(c.reused && got === 0 && !signal.aborted ? new StaleConnection() : failed);
    };
    const onAbort = () => fail(signal.reason instanceof Error ? signal.reason : new HttpGetError('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    c.onEnd = fail;
    c.onBytes = (view) => {
      if (reader) return reader.take(view);
      got += view.length;
      const before = head.length;
      head += view.toString('latin1', 0, Math.min(view.length, MAX_HEAD + 4)); // the head, not the body after it
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD)
          fail(new HttpGetError(`the answer's head is longer than ${MAX_HEAD} bytes`));
        return true;
      }
      let parsed: { status: number; headers: Record<string, string>; framing: Framing };
      try {
        parsed = parseHead(head.slice(0, end));
      } catch (err) {
        fail(err as Error);
        return false;
      }
      const done = (reuse: boolean) => {
        signal.removeEventListener('abort', onAbort);
        if (reuse) keepIdle(origin, c);
        else c.socket.destroy();
      };
      reader = new BodyReader(c, parsed.framing, done);
      resolve({
        status: parsed.status,
        headers: parsed.headers,
        body: (sink, limit) => reader!.read(sink, limit),
        discard: () => reader!.abandon(),
      });
      // The body's first bytes came with the head: kept until the caller reads the body.
      const rest = view.subarray(end + 4 - before);
      return rest.length > 0 ? reader.take(rest) : true;
    };
  });
}

function parseHead(text: string): { status: number; headers: Record<string, string>; framing: Framing } {
  const [statusLine, ...fields] = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!m) throw new HttpGetError(`not an HTTP answer: ${JSON.stringify(statusLine?.slice(0, 80))}`);
  const status = Number(m[1]);
  if (status < 200) throw new HttpGetError(`unexpected interim answer ${status}`);
  const headers: Record<string, string> = {};
  for (const f of fields) {
    const i = f.indexOf(':');
    if (i <= 0) throw new HttpGetError(`bad header line ${JSON.stringify(f.slice(0, 80))}`);
    const name = f.slice(0, i).trim().toLowerCase();
    const value = f.slice(i + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const close = /\bclose\b/i.test(headers['connection'] ?? '');
  let framing: Framing;
  if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) framing = { kind: 'chunked' };
  else if (headers['content-length'] !== undefined) {
    if (!/^\d+$/.test(headers['content-length'])) throw new HttpGetError('bad content-length');
    framing = { kind: 'length', remaining: Number(headers['content-length']) };
  } else framing = { kind: 'close' };
  if (status === 204 || status === 304) framing = { kind: 'length', remaining: 0 };
  if (close && framing.kind !== 'close') (framing as Framing & { close?: boolean }).close = true;
  return { status, headers, framing };
}

/** The body of one answer: bytes held until read, chunked framing undone, the end detected. */
class BodyReader {
  readonly #c: Connection;
  readonly #framing: Framing & { close?: boolean };
  readonly #done: (reuse: boolean) => void;
  /** Body bytes that arrived before `read` (copied: the socket's buffer is reused). */
  #early: Buffer[] = [];
  #sink: BodySink | undefined;
  #limit = Number.POSITIVE_INFINITY;
  #delivered = 0;
  readonly #ended: PromiseWithResolvers<boolean> = Promise.withResolvers();
  #finished = false;
  /** Chunked framing: bytes left of the current chunk, the line being read, and what comes next. */
  #chunkLeft = 0;
  #line = '';
  #state: 'size' | 'data' | 'crlf' | 'trailer' = 'size';

  constructor(c: Connection, framing: Framing, done: (reuse: boolean) => void) {
    this.#c = c;
    this.#framing = framing;
    this.#done = done;
    this.#ended.promise.catch(() => {});
    if (framing.kind === 'length' && framing.remaining === 0) this.#finish(true, !this.#framing.close);
  }

  read(sink: BodySink, limit = Number.POSITIVE_INFINITY): Promise<boolean> {
    this.#sink = sink;
    this.#limit = limit;
    const early = this.#early;
    this.#early = [];
    for (const b of early) this.#deliver(b);
    return this.#ended.promise;
  }

  abandon(): void {
    this.#finish(false, false);
  }

  fail(err: Error): void {
    // The server's close is the end of a body framed by it.
    if (this.#framing.kind === 'close' && err instanceof HttpGetError) this.#finish(true, false);
    else this.#stop(err);
  }

  /** Bytes from the socket; false pauses it. */
  take(view: Buffer): boolean {
    if (this.#finished) {
      this.#c.socket.destroy(); // bytes past the answer: not a connection to reuse
      return false;
    }
    const f = this.#framing;
    if (f.kind === 'chunked') return this.#unchunk(view);
    if (f.kind === 'close') return this.#pass(view);
    if (view.length > f.remaining) {
      this.#stop(new HttpGetError('the server sent more than its content-length'));
      return false;
    }
    f.remaining -= view.length;
    const go = this.#pass(view);
    if (f.remaining > 0) return go;
    this.#finish(true, !f.close);
    return true;
  }

  #unchunk(view: Buffer): boolean {
    let go = true;
    for (let i = 0; i < view.length && !this.#finished; ) {
      if (this.#state === 'data') {
        const n = Math.min(this.#chunkLeft, view.length - i);
        go = this.#pass(view.subarray(i, i + n)) && go;
        this.#chunkLeft -= n;
        i += n;
        if (this.#chunkLeft === 0) this.#state = 'crlf';
        continue;
      }
      const nl = view.indexOf(10, i);
      const end = nl < 0 ? view.length : nl + 1;
      this.#line += view.toString('latin1', i, end);
      i = end;
      if (this.#line.length > 4096) return this.#bad('a chunk line longer than 4096 bytes');
      if (nl < 0) break;
      const line = this.#line.trim();
      this.#line = '';
      if (this.#state === 'crlf') {
        if (line !== '') return this.#bad('no CRLF after a chunk');
        this.#state = 'size';
      } else if (this.#state === 'size') {
        const size = /^([0-9a-fA-F]{1,12})(;.*)?$/.exec(line);
        if (!size) return this.#bad(`bad chunk size ${JSON.stringify(line.slice(0, 40))}`);
        this.#chunkLeft = Number.parseInt(size[1]!, 16);
        this.#state = this.#chunkLeft === 0 ? 'trailer' : 'data';
      } else if (line === '') this.#finish(true, !this.#framing.close);
    }
    return this.#finished || go;
  }

  #bad(why: string): boolean {
    this.#stop(new HttpGetError(why));
    return false;
  }

  /** Hands body bytes to the sink, or keeps a copy until there is one. */
  #pass(view: Buffer): boolean {
    if (view.length === 0) return true;
    if (!this.#sink) {
      this.#early.push(Buffer.from(view));
      return true;
    }
    return this.#deliver(view);
  }

  /** Calls the sink; false when it asked to wait (the socket resumes when its promise settles) or the limit was reached. */
  #deliver(view: Buffer): boolean {
    const room = this.#limit - this.#delivered;
    const piece = view.length > room ? view.subarray(0, room) : view;
    this.#delivered += piece.length;
    let out: undefined | Promise<unknown>;
    try {
      out = piece.length > 0 ? this.#sink!(piece) : undefined;
    } catch (err) {
      this.#stop(err);
      return false;
    }
    if (piece.length < view.length) {
      this.#finish(false, false); // the caller's limit: the rest is not read
      return false;
    }
    if (!out) return true;
    out.then(
      () => {
        if (!this.#finished) this.#c.socket.resume();
      },
      (err: unknown) => this.#stop(err),
    );
    return false;
  }

  /** Ends the body with an error: the connection is closed. */
  #stop(err: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#done(false);
    this.#ended.reject(err);
  }

  #finish(complete: boolean, reuse: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#done(reuse && complete);
    this.#ended.resolve(complete);
  }
}
