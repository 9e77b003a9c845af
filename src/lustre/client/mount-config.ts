// Mount-time helpers of connectLustre: fetching the config from the MGS with retries, and the error a failed mount reports.
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineExceededError, FsError, UnavailableError } from '../../lib/errors.ts';
import type { MgsClient } from '../protocol/mgs-client.ts';
import type { FileSystemConfig } from '../protocol/mgs-messages.ts';

/** The file system's config, retried while the MGS is unreachable or still creating it, until `signal` aborts. */
export async function fetchConfig(
  mgs: MgsClient,
  fsname: string,
  signal: AbortSignal,
): Promise<FileSystemConfig> {
  let delay = 50;
  for (;;) {
    try {
      return await mgs.getConfig(fsname, signal);
    } catch (err) {
      const retry =
        err instanceof UnavailableError ||
        err instanceof DeadlineExceededError ||
        (err instanceof FsError && err.code === 'EAGAIN');
      if (!retry || signal.aborted) throw err;
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
  return new FsError('EIO', `${what}: ${why}`, { cause: err });
}
