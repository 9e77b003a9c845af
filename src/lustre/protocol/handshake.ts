// Data-plane authentication: a mutual challenge-response over the shared key, run on every connection before any RPC.
//
// client → server  nacre.authHello {v, cn}            cn: 32 random bytes (base64)
// server → client  {server, sn, proof}                 proof = HMAC(key, "server", server, cn, sn)
// client → server  nacre.authProve {proof}             proof = HMAC(key, "client", server, cn, sn)
// server → client  null                                the session is authenticated
//
// The key never crosses the wire; both proofs cover both nonces, so neither can be replayed, and the
// direction label keeps a server's proof from being reflected back as a client's. Proofs are
// compared in constant time.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { NacreError, ValidationError } from '../../lib/errors.ts';
import type { DataPlaneTls } from './tls.ts';

export const AUTH_HELLO = 'nacre.authHello';
export const AUTH_PROVE = 'nacre.authProve';
const VERSION = 1;
const NONCE_BYTES = 32;
/** Shortest key file accepted: 32 characters (nacre up writes 64 hex digits). */
export const MIN_KEY_LENGTH = 32;
/** How long a client may take to authenticate after connecting before the server drops it. */
export const SERVER_HANDSHAKE_MS = 10_000;
/** Deadline of each handshake call on the client. */
export const CLIENT_HANDSHAKE_MS = 5_000;

/** The connection being set up (RpcClient's Handshake), as much of it as the handshake uses. */
export interface HandshakeConnection {
  call<T>(method: string, args: unknown, opts?: { timeoutMs?: number }): Promise<{ result: T }>;
}

/** How this process's data-plane connections are secured. No key: connections are not authenticated. */
export interface DataPlaneSecurity {
  key?: Buffer | undefined;
  /** With TLS, every connection is mutual TLS under `tls.ca`; servers refuse plaintext clients. */
  tls?: DataPlaneTls | undefined;
}

let processSecurity: DataPlaneSecurity = {};

/**
 * Sets the data-plane key (and later TLS) every RpcClient and RpcServer of this process uses unless
 * given their own. Called once from cmd/ after reading the key file; tests call it to run a keyed cluster.
 */
export function configureDataPlane(security: DataPlaneSecurity): void {
  processSecurity = security;
}

export function dataPlaneSecurity(): DataPlaneSecurity {
  return processSecurity;
}

/** Reads a key file: its content without surrounding whitespace, at least MIN_KEY_LENGTH bytes. */
export async function readDataPlaneKey(path: string, signal?: AbortSignal): Promise<Buffer> {
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8', ...(signal && { signal }) });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ValidationError(`cannot read the data-plane key file ${path}: ${why}`, { cause: err });
  }
  const key = Buffer.from(text.trim(), 'utf8');
  if (key.length < MIN_KEY_LENGTH) {
    throw new ValidationError(
      `the data-plane key file ${path} holds ${key.length} characters; it needs at least ${MIN_KEY_LENGTH} (e.g. openssl rand -hex 32)`,
    );
  }
  return key;
}

/** A new random key, as `nacre up` writes it: 64 hex digits. */
export function generateDataPlaneKey(): string {
  return randomBytes(32).toString('hex');
}

/** Errors of the handshake, the same code on both sides: the peer holds another key, or none. */
export class AuthenticationError extends NacreError {
  constructor(message: string) {
    super('AuthenticationFailed', message);
  }
}

function proof(key: Buffer, direction: 'server' | 'client', server: string, cn: Buffer, sn: Buffer): Buffer {
  return createHmac('sha256', key)
    .update(`nacre-data-plane-v${VERSION}\u0000${direction}\u0000${server}\u0000`)
    .update(cn)
    .update(sn)
    .digest();
}

function sameProof(expected: Buffer, got: unknown): boolean {
  if (typeof got !== 'string') return false;
  const b = Buffer.from(got, 'base64');
  return b.length === expected.length && timingSafeEqual(b, expected);
}

/**
 * Runs the client side on a new connection. Rejects with AuthenticationError when the server does
 * not prove it holds `key` (another key, or a server started without one) or refuses our proof.
 */
export async function authenticateToServer(
  conn: HandshakeConnection,
  key: Buffer,
  address: string,
): Promise<void> {
  const cn = randomBytes(NONCE_BYTES);
  let hello: { server?: unknown; sn?: unknown; proof?: unknown };
  try {
    hello = (
      await conn.call<typeof hello>(
        AUTH_HELLO,
        { v: VERSION, cn: cn.toString('base64') },
        { timeoutMs: CLIENT_HANDSHAKE_MS },
      )
    ).result;
  } catch (err) {
    if (err instanceof NacreError && err.code === 'UnknownMethod') {
      throw new AuthenticationError(
        `the server at ${address} does not authenticate (it was started without --data-plane-key-file); refusing to use it with a data-plane key`,
      );
    }
    throw err;
  }
  const server = typeof hello?.server === 'string' ? hello.server : '';
  const sn = typeof hello?.sn === 'string' ? Buffer.from(hello.sn, 'base64') : Buffer.alloc(0);
  if (sn.length !== NONCE_BYTES || !sameProof(proof(key, 'server', server, cn, sn), hello.proof)) {
    throw new AuthenticationError(
      `the ${server || 'server'} at ${address} holds another data-plane key: the key file does not match the file system's key`,
    );
  }
  await conn.call(
    AUTH_PROVE,
    { proof: proof(key, 'client', server, cn, sn).toString('base64') },
    { timeoutMs: CLIENT_HANDSHAKE_MS },
  );
}

/** The server side of one connection: answers the two handshake calls and says when the session may call. */
export class ServerHandshake {
  readonly #key: Buffer;
  readonly #server: string;
  #cn: Buffer | undefined;
  #sn: Buffer | undefined;
  #done = false;

  constructor(key: Buffer, server: string) {
    this.#key = key;
    this.#server = server;
  }

  get authenticated(): boolean {
    return this.#done;
  }

  /** Answers AUTH_HELLO; throws AuthenticationError for a malformed or repeated hello. */
  hello(args: unknown): { server: string; sn: string; proof: string } {
    const a = (args ?? {}) as { v?: unknown; cn?: unknown };
    if (this.#cn) throw new AuthenticationError('authHello sent twice');
    if (a.v !== VERSION) throw new AuthenticationError(`unsupported handshake version ${String(a.v)}`);
    const cn = typeof a.cn === 'string' ? Buffer.from(a.cn, 'base64') : Buffer.alloc(0);
    if (cn.length !== NONCE_BYTES) throw new AuthenticationError('the client nonce must be 32 bytes');
    this.#cn = cn;
    this.#sn = randomBytes(NONCE_BYTES);
    const p = proof(this.#key, 'server', this.#server, cn, this.#sn);
    return { server: this.#server, sn: this.#sn.toString('base64'), proof: p.toString('base64') };
  }

  /** Checks AUTH_PROVE; throws AuthenticationError when the proof was made with another key. */
  prove(args: unknown): null {
    if (!this.#cn || !this.#sn) throw new AuthenticationError('authProve before authHello');
    const got = (args ?? {}) as { proof?: unknown };
    if (!sameProof(proof(this.#key, 'client', this.#server, this.#cn, this.#sn), got.proof)) {
      throw new AuthenticationError(
        `the client's data-plane key does not match this ${this.#server}'s: check --data-plane-key-file`,
      );
    }
    this.#done = true;
    return null;
  }
}
