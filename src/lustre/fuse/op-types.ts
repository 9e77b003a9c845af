// The contract between the FUSE session and the opcode handlers: request context, runners, replies.
import type { Attr, Credentials, FileHandle, FileSystemClient, RequestOptions } from '../types.ts';
import type { InHeader } from './codec-in.ts';
import type { CacheTimeouts } from './codec-out.ts';

/** What a handler hands back to the session: the reply body, and what to do once the kernel has it (or not). */
export interface Reply {
  body: Buffer | Buffer[];
  /** Runs after the kernel accepted the reply (e.g. count a lookup). */
  onSent?: () => void;
  /** Runs when the reply could not be delivered (the request was aborted): undo what it created. */
  onUnsent?: () => void;
}

/** What a request's handler may use. Everything else about the session stays private to it. */
export interface OpContext {
  readonly client: FileSystemClient;
  readonly header: InHeader;
  /** Aborted when the kernel sends FUSE_INTERRUPT for this request. */
  readonly signal: AbortSignal;
  readonly timeouts: CacheTimeouts;
  /** Reply FOPEN_DIRECT_IO on open and create of regular files. */
  readonly directIo: boolean;
  /** The caller's uid, gid and supplementary groups. */
  credentials(): Promise<Credentials>;
  /** The open file for a handle number the kernel sent; EBADF if unknown. */
  handle(fh: number): FileHandle;
  addHandle(handle: FileHandle): void;
  dropHandle(fh: number): void;
  /** Counts one more kernel reference to `ino` (a lookup the kernel will FORGET later). */
  rememberLookup(ino: number): void;
}

/** Runs a decoded request. Resolves with the reply, or null when the opcode has none. */
export type Runner = (ctx: OpContext) => Promise<Reply | null>;

/**
 * Decodes a request synchronously (the request buffer is reused as soon as this returns, except
 * for WRITE, whose buffer is handed over) and returns the runner that does the work.
 * Throws FsError for a malformed request.
 */
export type Op = (header: InHeader, body: Buffer) => Runner;

/** A reply with no body (success). */
export const EMPTY: Reply = { body: Buffer.alloc(0) };

/** Wraps an attribute-returning call into an entry reply that counts a lookup when delivered. */
export function entryReply(ctx: OpContext, attr: Attr, body: Buffer): Reply {
  return { body, onSent: () => ctx.rememberLookup(attr.ino) };
}

/** The kernel's id of a request, which it keeps when it resends the request to a new daemon. */
export function kernelRequest(h: InHeader): RequestOptions {
  return { request: Math.abs(h.unique) };
}
