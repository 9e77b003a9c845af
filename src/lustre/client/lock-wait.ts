// F_SETLKW and blocking flock on top of the MDS's non-blocking lock calls: retry on conflict with a short backoff.
import { setTimeout as sleep } from 'node:timers/promises';
import { FsError } from '../../lib/errors.ts';

const FIRST_DELAY_MS = 5;
const MAX_DELAY_MS = 250;

/**
 * Runs `attempt` (a lock request that rejects with EAGAIN on conflict). Without `wait` the first
 * answer is final. With `wait`, conflicts are retried with a backoff up to 250 ms until the lock is
 * granted or `signal` aborts, which rejects with EINTR (what a signal does to F_SETLKW). Other
 * errors end the wait unchanged.
 */
export async function waitForLock(
  attempt: () => Promise<unknown>,
  wait: boolean,
  signal?: AbortSignal,
): Promise<void> {
  let delay = FIRST_DELAY_MS;
  for (;;) {
    try {
      await attempt();
      return;
    } catch (err) {
      if (!wait || !(err instanceof FsError && err.code === 'EAGAIN')) throw err;
    }
    try {
      await sleep(delay, undefined, signal ? { signal } : {});
    } catch (err) {
      throw new FsError('EINTR', 'waiting for a lock was interrupted', { cause: err });
    }
    delay = Math.min(MAX_DELAY_MS, delay * 2);
  }
}
