// The one wait-for-a-condition: poll a check until it holds or a deadline passes, never a bare sleep.
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineExceededError } from './errors.ts';

export interface WaitOptions {
  /** How long to wait before failing (default 10 s). */
  timeoutMs?: number;
  /** Pause between checks (default 50 ms). */
  intervalMs?: number;
  /** Ends the wait early with the signal's reason. */
  signal?: AbortSignal;
  /** Treat an error thrown by the check as "not yet" (the last one is named on timeout); default false: it ends the wait. */
  retryErrors?: boolean;
}

/**
 * Calls `check` until it returns something other than `undefined` or `false`, and resolves with that.
 * Rejects with DeadlineExceededError naming `what` (and the last error the check threw, with
 * `retryErrors`) once `timeoutMs` has passed; a number for `opts` is the timeout.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  opts: number | WaitOptions = {},
): Promise<Exclude<T, undefined | false>> {
  const o = typeof opts === 'number' ? { timeoutMs: opts } : opts;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    o.signal?.throwIfAborted();
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as Exclude<T, undefined | false>;
    } catch (err) {
      if (!o.retryErrors) throw err;
      last = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const why =
        last === undefined ? '' : `; last error: ${last instanceof Error ? last.message : String(last)}`;
      throw new DeadlineExceededError(`timed out after ${timeoutMs} ms waiting for ${what}${why}`, {
        cause: last,
      });
    }
    await sleep(Math.min(o.intervalMs ?? 50, left), undefined, o.signal ? { signal: o.signal } : {}).catch(
      (err: unknown) => {
        throw o.signal?.aborted ? o.signal.reason : err;
      },
    );
  }
}

/**
 * waitFor for a caller that answers "still in progress" at its deadline: resolves undefined,
 * instead of rejecting, when `timeoutMs` passes or `signal` aborts.
 */
export async function waitWithin<T>(
  what: string,
  check: () => T | Promise<T>,
  opts: WaitOptions & { timeoutMs: number },
): Promise<Exclude<T, undefined | false> | undefined> {
  try {
    return await waitFor(what, check, opts);
  } catch (err) {
    if (err instanceof DeadlineExceededError || opts.signal?.aborted) return undefined;
    throw err;
  }
}
