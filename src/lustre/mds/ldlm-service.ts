// The MDS side of cache locks: one LockManager per MDT, blocking callbacks pushed to the holder's sessions, evicted clients cut off until they reconnect.
import { FsError } from '../../lib/errors.ts';
import { logger } from '../../lib/log.ts';
import type { ServerSession } from '../protocol/rpc-server.ts';
import { type Lock, LockManager, type LockRequest } from './ldlm.ts';

/**
 * How long a holder has to cancel a lock after a blocking callback before it is evicted (ms), and
 * how long after an MDS start lock requests wait for the clients it knew to connect again (ms), for
 * MDTs whose lock manager is made after a change (tests shorten them).
 */
export const ldlmSettings = { callbackTimeoutMs: 10_000, recoveryWindowMs: 10_000 };

/** What the service needs of an MDT: the sessions of its attached clients and their client ids. */
export interface LockHost {
  readonly fsname: string;
  sessionsOf(client: string): Iterable<ServerSession>;
  /** Clients known from before a restart that have not connected again (asked once, at the first use). */
  awaitedClients(): string[];
}

interface State {
  manager: LockManager;
  evicted: Set<string>;
  /** The recovery window: clients that may still cache under locks this MDS no longer knows. */
  recovery: { awaited: Set<string>; over: Promise<void>; end: () => void } | undefined;
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
  st = { manager, evicted, recovery: recoveryWindow(host) };
  states.set(host, st);
  return st;
}

/**
 * Locks live in memory: after a restart the MDS does not know what its clients cache. Until every
 * client it knew has connected again (a client drops its caches before it connects) or the window
 * has passed (a client still away is evicted with its handles later), no lock is granted, so no
 * writer can change data that a client not yet back still serves from its cache.
 */
function recoveryWindow(host: LockHost): State['recovery'] {
  const awaited = new Set(host.awaitedClients());
  if (awaited.size === 0) return undefined;
  const { promise, resolve } = Promise.withResolvers<void>();
  const timer = setTimeout(() => {
    if (awaited.size > 0)
      log.warn('lock recovery window over; clients not back', { fsname: host.fsname, clients: [...awaited] });
    resolve();
  }, ldlmSettings.recoveryWindowMs);
  timer.unref();
  log.info('lock recovery window: lock requests wait for clients to connect again', {
    fsname: host.fsname,
    clients: awaited.size,
    windowMs: ldlmSettings.recoveryWindowMs,
  });
  return {
    awaited,
    over: promise,
    end: () => {
      clearTimeout(timer);
      resolve();
    },
  };
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
  // The first connect after a start opens the recovery window, with the clients known from before.
  const st = state(host, ldlmSettings.callbackTimeoutMs);
  if (st.evicted.delete(client)) log.info('evicted client reconnected', { fsname: host.fsname, client });
  st.manager.dropClient(client);
  const r = st.recovery;
  if (r?.awaited.delete(client) && r.awaited.size === 0) {
    log.info('lock recovery complete: every client is back', { fsname: host.fsname });
    r.end();
  }
}

/** Grants `req` to `client` (see LockManager.enqueue), after the recovery window of a restarted MDS. */
export async function enqueueLock(
  host: LockHost,
  client: string,
  req: LockRequest,
  signal: AbortSignal,
  opts?: { undelivered?: boolean },
): Promise<Lock> {
  const st = state(host, ldlmSettings.callbackTimeoutMs);
  if (st.recovery) {
    const aborted = Promise.withResolvers<never>();
    const onAbort = () => aborted.reject(new FsError('EINTR', 'lock request interrupted during recovery'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race([st.recovery.over, aborted.promise]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    st.recovery = undefined;
  }
  return st.manager.enqueue(client, req, signal, opts);
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
