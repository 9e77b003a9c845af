// Mount-time helpers of connectLustre: fetching the config from the MGS with retries, and the error a failed mount reports.
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineExceededError, FsError, NacreError, UnavailableError } from '../../lib/errors.ts';
import type { MgsClient } from '../protocol/mgs-client.ts';
import type { FileSystemConfig } from '../protocol/mgs-messages.ts';

/** How long a mount keeps trying an MGS that refuses or cannot be reached (a restart takes less). */
export const MGS_UNREACHABLE_MS = 5_000;

/**
 * The file system's config, retried while the MGS is still creating it (until `signal` aborts)
 * and while it cannot be reached, for at most `unreachableMs`: then the connection error (naming
 * the address) is the answer, as a mount with a wrong address should fail fast.
 */
export async function fetchConfig(
  mgs: MgsClient,
  fsname: string,
  signal: AbortSignal,
  unreachableMs = MGS_UNREACHABLE_MS,
): Promise<FileSystemConfig> {
  let delay = 50;
  let unreachableSince: number | undefined;
  for (;;) {
    try {
      return await mgs.getConfig(fsname, signal);
    } catch (err) {
      const unreachable = err instanceof UnavailableError || err instanceof DeadlineExceededError;
      const retry = unreachable || (err instanceof FsError && err.code === 'EAGAIN');
      if (!retry || signal.aborted) throw err;
      if (!unreachable) unreachableSince = undefined;
      else if (unreachableSince === undefined) unreachableSince = Date.now();
      else if (Date.now() - unreachableSince >= unreachableMs) throw err;
    }
    await sleep(delay, undefined, { signal });
    delay = Math.min(1_000, delay * 2);
  }
}

/** The FsError a failed mount rejects with: ETIMEDOUT, EINTR, ENOENT (unknown fsname) or EIO. */
export function mountError(
  err: unknown,
  opts: { fsname: string; mgsAddress: string; signal?: AbortSignal | undefined },
  timedOut: boolean,
  timeoutMs: number,
): FsError {
  const why = err instanceof Error ? err.message : String(err);
  const what = `mounting ${opts.fsname} from MGS ${opts.mgsAddress}`;
  if (timedOut) {
    return new FsError('ETIMEDOUT', `${what}: no answer within ${timeoutMs} ms (${why})`, { cause: err });
  }
  if (opts.signal?.aborted) return new FsError('EINTR', `${what}: interrupted`, { cause: err });
  if (err instanceof FsError && err.code === 'ENOENT') {
    return new FsError('ENOENT', `${what}: ${why}`, { cause: err });
  }
  // A key that does not match (or none where one is needed): permission denied, not an I/O error.
  if (
    err instanceof NacreError &&
    ['AuthenticationFailed', 'Unauthenticated', 'TlsRequired', 'TlsFailed'].includes(err.code)
  ) {
    return new FsError('EACCES', `${what}: ${why}`, { cause: err });
  }
  return new FsError('EIO', `${what}: ${why}`, { cause: err });
}
