// Opening a released file: the MDS answers EINPROGRESS while the HSM agent is still loading it; the client asks again.
import { FsError } from '../../lib/errors.ts';

/** How long an open waits for a restore in all (then EIO). */
export const RESTORE_WAIT_MS = 30 * 60_000;

/**
 * Runs `call` again while it fails with EINPROGRESS (a restore from the archive still running), until
 * it succeeds, fails otherwise, `signal` aborts (EINTR) or `limitMs` passed (EIO).
 */
export async function whileRestoring<T>(
  call: () => Promise<T>,
  signal?: AbortSignal,
  limitMs = RESTORE_WAIT_MS,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof FsError && err.code === 'EINPROGRESS')) throw err;
      if (signal?.aborted) throw new FsError('EINTR', 'interrupted while the file was being restored');
      if (Date.now() > deadline)
        throw new FsError('EIO', `the file was still being restored after ${limitMs} ms`);
    }
  }
}
