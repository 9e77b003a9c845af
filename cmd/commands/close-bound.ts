// After a mount is gone: its client closes within a bound, so the process ends even if close() ever outlived its own.
import type { Logger } from '../../src/lib/log.ts';

/**
 * How long a process whose mount is gone waits for its client to close. LustreClient.close()
 * gives the servers 2 s to take its handles and locks back and ends every call and connection
 * with it; this is the backstop above it, not the mechanism.
 */
export const CLOSE_BOUND_MS = 5_000;

/** Closes `client`; resolves true once it closed, false (logged at error: a bug) after `ms`. */
export async function closeWithin(
  client: { close(): Promise<void> },
  log: Logger,
  ms = CLOSE_BOUND_MS,
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const closed = await Promise.race([client.close().then(() => true as const), late]);
  clearTimeout(timer);
  if (!closed) log.error(`the client did not close within ${ms} ms (its own bound is 2 s); exiting anyway`);
  return closed;
}
