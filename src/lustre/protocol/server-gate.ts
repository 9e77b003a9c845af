// The server's gate before authentication: only the two handshake calls pass; anything else ends the connection.
import type net from 'node:net';
import { NacreError } from '../../lib/errors.ts';
import { encodeFrame, type Frame, KIND_ERROR, KIND_REPLY } from './frame.ts';
import { AUTH_HELLO, AUTH_PROVE, type ServerHandshake } from './handshake.ts';
import type { RejectionReason } from './rejections.ts';

/**
 * Handles one request frame of a connection that has not authenticated yet. Answers the handshake
 * calls; refuses (error reply, then the connection ends) a failed proof or any other call, which
 * never reaches a handler. Returns what became of the connection.
 */
export function gateFrame(
  socket: net.Socket,
  handshake: ServerHandshake,
  frame: Frame,
  reject: (reason: RejectionReason, detail: string) => void,
): 'pending' | 'authenticated' | 'refused' {
  const header = (frame.header ?? {}) as { m?: unknown; a?: unknown };
  const method = typeof header.m === 'string' ? header.m : '?';
  try {
    if (method === AUTH_HELLO) {
      send(socket, encodeFrame(KIND_REPLY, frame.id, { r: handshake.hello(header.a) }));
      return 'pending';
    }
    if (method === AUTH_PROVE) {
      send(socket, encodeFrame(KIND_REPLY, frame.id, { r: handshake.prove(header.a) }));
      return 'authenticated';
    }
    reject('unauthenticated', `"${method.slice(0, 64)}" before authenticating`);
    refuse(
      socket,
      frame.id,
      'Unauthenticated',
      'this server requires the data-plane key: start the client with --data-plane-key-file',
    );
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    reject('auth-failed', message);
    refuse(socket, frame.id, err instanceof NacreError ? err.code : 'AuthenticationFailed', message);
  }
  return 'refused';
}

function send(socket: net.Socket, buffers: Buffer[]): void {
  socket.cork();
  for (const b of buffers) socket.write(b);
  socket.uncork();
}

/** Replies with the error, then ends the connection once it is flushed (destroyed if the peer does not close). */
function refuse(socket: net.Socket, id: number, code: string, message: string): void {
  send(socket, encodeFrame(KIND_ERROR, id, { e: code, msg: message }));
  socket.end();
  socket.pause();
  setTimeout(() => socket.destroy(), 2_000).unref();
}
