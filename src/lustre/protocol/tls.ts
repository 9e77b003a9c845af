// Optional TLS on data-plane connections: mutual TLS under one CA, and a server that tells a plaintext client why it is refused.
import { readFile } from 'node:fs/promises';
import type net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { NacreError, ValidationError } from '../../lib/errors.ts';
import { encodeFrame, FrameDecoder, KIND_ERROR } from './frame.ts';

/** PEM files of this process: its certificate and key, and the CA every peer's certificate must chain to. */
export interface DataPlaneTls {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

/** First byte of a TLS record carrying a handshake (ClientHello). */
const TLS_HANDSHAKE = 0x16;
/** A fatal handshake_failure alert (TLS 1.2 record layer), what a plaintext server answers a ClientHello with. */
export const TLS_HANDSHAKE_FAILURE = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);

/** True when a connection's first bytes are a TLS handshake record (a ClientHello), never a Nacre frame. */
export function isTlsHello(first: Buffer): boolean {
  return first[0] === TLS_HANDSHAKE && first[1] === 0x03;
}

/** How long a connection may take to complete the TLS handshake. */
const HANDSHAKE_MS = 10_000;

/** Reads the three PEM files; a clear error naming the file that is missing or unreadable. */
export async function readDataPlaneTls(
  files: { cert: string; key: string; ca: string },
  signal?: AbortSignal,
): Promise<DataPlaneTls> {
  const one = async (what: string, path: string) => {
    try {
      return await readFile(path, signal ? { signal } : {});
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new ValidationError(`cannot read the TLS ${what} ${path}: ${why}`, { cause: err });
    }
  };
  return {
    cert: await one('certificate', files.cert),
    key: await one('key', files.key),
    ca: await one('CA', files.ca),
  };
}

/**
 * Client side: a TLS connection that presents our certificate and accepts only a server whose
 * certificate chains to our CA. Host names are not checked (servers advertise pod names and IPs);
 * the CA is the trust anchor, and the data-plane key is proved inside the tunnel as well.
 */
export function connectTls(options: net.NetConnectOpts, files: DataPlaneTls): tls.TLSSocket {
  return tls.connect({
    ...(options as tls.ConnectionOptions),
    cert: files.cert,
    key: files.key,
    ca: files.ca,
    checkServerIdentity: () => undefined,
  });
}

/** True for the errors of a TLS handshake that a retry cannot fix (untrusted or bad certificates, protocol). */
export function isTlsFailure(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO|ERR_SSL|ERR_TLS|EPROTO/.test(code);
}

/**
 * Server side of one accepted connection when TLS is required. A connection that opens with a TLS
 * handshake gets `secure` once the client proved a certificate under our CA; one that opens with a
 * plaintext frame is answered with a 'TlsRequired' error (so the client can say what to fix) and
 * closed, and `refused` is called; a failed handshake calls `refused` too.
 */
export function acceptTls(
  raw: net.Socket,
  files: DataPlaneTls,
  secure: (socket: tls.TLSSocket) => void,
  refuse: (reason: 'plaintext' | 'tls-failed', detail: string) => void,
): void {
  let settled = false;
  const refused = (reason: 'plaintext' | 'tls-failed', detail: string) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    refuse(reason, detail);
  };
  const timer = setTimeout(() => {
    refused('tls-failed', `no TLS handshake within ${HANDSHAKE_MS} ms`);
    raw.destroy();
  }, HANDSHAKE_MS);
  raw.once('data', (first: Buffer) => {
    if (!isTlsHello(first)) {
      refusePlaintext(raw, first, refused);
      return;
    }
    raw.pause();
    // The bytes already read must reach the TLS layer: it reads through a stream of ours, not the socket's handle.
    const stream = new Duplex({
      read: () => void raw.resume(),
      write: (chunk: Buffer, _enc, done) => void raw.write(chunk, done),
      final: (done) => {
        raw.end();
        done();
      },
      destroy: (err, done) => {
        raw.destroy();
        done(err);
      },
    });
    stream.push(first);
    raw.on('data', (c: Buffer) => {
      if (!stream.push(c)) raw.pause();
    });
    raw.on('end', () => stream.push(null));
    raw.on('close', () => stream.destroy());
    raw.once('close', () => refused('tls-failed', 'closed during the TLS handshake'));
    // A tls.Server of this connection alone verifies the client's certificate as a listening one would.
    const server = tls.createServer({
      cert: files.cert,
      key: files.key,
      ca: files.ca,
      requestCert: true,
      rejectUnauthorized: true,
    });
    server.once('secureConnection', (socket: tls.TLSSocket) => {
      settled = true;
      clearTimeout(timer);
      secure(socket);
    });
    server.once('tlsClientError', (err: Error) => {
      refused('tls-failed', err.message);
      raw.destroy();
    });
    server.emit('connection', stream);
  });
}

function refusePlaintext(
  raw: net.Socket,
  first: Buffer,
  refused: (reason: 'plaintext', detail: string) => void,
): void {
  const decoder = new FrameDecoder();
  const answer = (chunk: Buffer) => {
    let id = 0;
    try {
      const frames = decoder.push(chunk);
      if (frames.length === 0) return false;
      id = frames[0]!.id;
    } catch {
      // Not our protocol either: close without an answer.
    }
    refused('plaintext', 'a plaintext connection to a TLS-only server');
    const msg =
      'this server accepts TLS connections only: start the client with --tls-cert, --tls-key and --tls-ca';
    raw.end(Buffer.concat(encodeFrame(KIND_ERROR, id, { e: 'TlsRequired', msg })));
    raw.destroySoon();
    return true;
  };
  if (!answer(first)) raw.on('data', (c: Buffer) => void answer(c));
}

/** The error a client reports when the TLS handshake fails for good. */
export function tlsError(address: string, err: Error): NacreError {
  return new NacreError(
    'TlsFailed',
    `TLS with ${address} failed: ${err.message} (do both sides use --tls-* files under the same CA?)`,
  );
}
