// The MDS side of cache locks: one LockManager per MDT, blocking callbacks pushed to the holder's sessions, evicted clients cut off until they reconnect.
import { FsError } from '../../lib/errors.ts';
import { logger } from '../../lib/log.ts';
import type { ServerSession } from '../protocol/rpc-server.ts';
import { type Lock, LockManager, type LockRequest } from './ldlm.ts';

/**
 * How long a holder has to cancel a lock after a blocking callback before it is evicted (ms), for
 * MDTs whose lock manager is made after a change (tests shorten it).
 */
export const ldlmSettings = { callbackTimeoutMs: 10_000 };

/** What the service needs of an MDT: the sessions of its attached clients and their client ids. */
export interface LockHost {
  readonly fsname: string;
  sessionsOf(client: string): Iterable<ServerSession>;
}

interface State {
  manager: LockManager;
  evicted: Set<string>;
}

const states = new WeakMap<LockHost, State>();
const log = logger('ldlm');

function state(host: LockHost, callbackTimeoutMs: number): State {
  let st = states.get(host);
  if (st) return st;
  const evicted = new Set<string>();
  const manager = new LockManager({
    callbackTimeoutMs,
    sendBlocking: (lock: Lock) => {
      for (const s of host.sessionsOf(lock.client)) s.push('blockingAst', lock);
    },
    onEvict: (client, reason) => {
      evicted.add(client);
      log.warn('evicted client', { fsname: host.fsname, client, reason });
      // Told, it drops its caches and reconnects; until then its calls fail with EIO.
      for (const s of host.sessionsOf(client)) s.push('evicted', { reason });
    },
  });
  st = { manager, evicted };
  states.set(host, st);
  return st;
}

/** The MDT's lock manager (made on first use). */
export function lockManager(host: LockHost, callbackTimeoutMs = ldlmSettings.callbackTimeoutMs): LockManager {
  return state(host, callbackTimeoutMs).manager;
}

/** EIO for a client evicted since it last connected: it must reconnect (and drop its caches) first. */
export function checkNotEvicted(host: LockHost, client: string): void {
  if (states.get(host)?.evicted.has(client)) {
    throw new FsError(
      'EIO',
      `client ${client} was evicted (it did not answer a lock callback in time); reconnect to continue`,
    );
  }
}

/** A connect: the client starts over with no locks and is no longer cut off. */
export function reconnected(host: LockHost, client: string): void {
  const st = states.get(host);
  if (!st) return;
  if (st.evicted.delete(client)) log.info('evicted client reconnected', { fsname: host.fsname, client });
  st.manager.dropClient(client);
}

export function enqueueLock(
  host: LockHost,
  client: string,
  req: LockRequest,
  signal: AbortSignal,
): Promise<Lock> {
  return lockManager(host).enqueue(client, req, signal);
}

/** Parses lockEnqueue arguments (EINVAL for anything malformed). */
export function lockRequest(a: Record<string, unknown>): LockRequest {
  const { ino, kind, mode, bits } = a;
  if (typeof ino !== 'number' || !Number.isSafeInteger(ino) || ino < 1)
    throw new FsError('EINVAL', 'ino must be a positive integer');
  if (kind !== 'ibits' && kind !== 'data') throw new FsError('EINVAL', 'kind must be "ibits" or "data"');
  if (mode !== 'PR' && mode !== 'PW') throw new FsError('EINVAL', 'mode must be "PR" or "PW"');
  if (kind === 'data') return { ino, kind, mode };
  if (typeof bits !== 'number' || !Number.isSafeInteger(bits))
    throw new FsError('EINVAL', 'ibits locks need bits');
  return { ino, kind, mode, bits };
}
