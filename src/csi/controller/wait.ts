// Bounded polling inside one CSI call: wait for a resource to settle, never past the call's deadline.
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Calls `check` every `intervalMs` until it returns a value, `waitMs` passes, or `signal` aborts;
 * returns undefined when time ran out (the caller answers "still in progress").
 */
export async function pollFor<T>(
  check: (signal: AbortSignal) => Promise<T | undefined>,
  opts: { waitMs: number; intervalMs?: number; signal: AbortSignal },
): Promise<T | undefined> {
  const until = Date.now() + opts.waitMs;
  for (;;) {
    const v = await check(opts.signal);
    if (v !== undefined) return v;
    if (Date.now() + (opts.intervalMs ?? 250) > until || opts.signal.aborted) return undefined;
    try {
      await sleep(opts.intervalMs ?? 250, undefined, { signal: opts.signal });
    } catch {
      return undefined;
    }
  }
}
