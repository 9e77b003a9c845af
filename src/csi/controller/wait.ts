// Bounded polling inside one CSI call: wait for a resource to settle, never past the call's deadline.
import { DeadlineExceededError } from '../../lib/errors.ts';
import { waitFor } from '../../lib/wait-for.ts';

/**
 * Calls `check` every `intervalMs` until it returns a value, `waitMs` passes, or `signal` aborts;
 * returns undefined when time ran out (the caller answers "still in progress").
 */
export async function pollFor<T>(
  check: (signal: AbortSignal) => Promise<T | undefined>,
  opts: { waitMs: number; intervalMs?: number; signal: AbortSignal },
): Promise<T | undefined> {
  try {
    return await waitFor('the resource to settle', () => check(opts.signal), {
      timeoutMs: opts.waitMs,
      intervalMs: opts.intervalMs ?? 250,
      signal: opts.signal,
    });
  } catch (err) {
    if (err instanceof DeadlineExceededError || opts.signal.aborted) return undefined;
    throw err;
  }
}
