// Before a PW data lock reaches its new holder: a dead client's unfinished truncate is finished, so the holder's writes come after it.
import type { Attached } from './handler-types.ts';
import { type LockHost, lockManager } from './ldlm-service.ts';

/**
 * A PW data lock was granted on `i`: a truncate whose client died before cutting the objects (it
 * held PW until its eviction) is finished first, so the new holder's writes land after the cut, as
 * they come after the truncate, and no later finishing of it can cut them. EIO (lock given back)
 * if the OSTs cannot be reached.
 */
export async function afterTruncates(host: LockHost, c: Attached, i: number, lockId: number): Promise<void> {
  try {
    await c.mdt.finishPendingPunch(i);
  } catch (err) {
    lockManager(host).cancel(c.client, lockId);
    throw err;
  }
}
