// Before a PW data lock reaches its new holder: a dead client's unfinished truncate is finished, so the holder's writes come after it.
import type { Attached } from './handler-types.ts';
import type { Lock, LockRequest } from './ldlm.ts';
import { enqueueLock, type LockHost, lockManager } from './ldlm-service.ts';

/**
 * Grants a PW data lock on `req.ino` to `c`: a truncate whose client died before cutting the
 * objects (it held PW until its eviction) is finished first, so the new holder's writes land after
 * the cut, as they come after the truncate, and no later finishing of it can cut them. EIO (lock
 * given back) if the OSTs cannot be reached. Until the cut is done the lock gets no blocking
 * callback: its holder does not know it yet, and the callback's deadline would evict it for the
 * time the MDS took to cut.
 */
export async function grantPw(
  host: LockHost,
  c: Attached,
  req: LockRequest & { kind: 'data'; mode: 'PW' },
  signal: AbortSignal,
): Promise<Lock> {
  const manager = lockManager(host);
  const lock = await enqueueLock(host, c.client, req, signal, { undelivered: true });
  try {
    await c.mdt.finishPendingPunch(req.ino);
  } catch (err) {
    manager.cancel(c.client, lock.id);
    throw err;
  } finally {
    manager.delivered(lock.id); // a callback held back goes out with the reply (none if cancelled)
  }
  return lock;
}
