// Opening a released file: the MDS answers EINPROGRESS while the HSM agent is still loading it; the client asks again.
import { FsError } from '../../lib/errors.ts';
import type { MdsSession } from './mds-session.ts';

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

/**
 * Inodes this client opened while the HSM agent was still loading them: a read first waits for its
 * range (the MDS answers at once for loaded ranges and puts missing ones first in the agent's queue).
 */
export class LoadingFiles {
  readonly #inos = new Set<number>();
  readonly #mds: Pick<MdsSession, 'call'>;

  constructor(mds: Pick<MdsSession, 'call'>) {
    this.#mds = mds;
  }

  opened(ino: number, loading: boolean | undefined): void {
    if (loading) this.#inos.add(ino);
  }

  /** Resolves when [offset, offset + length) of `ino` can be read; EIO when its load failed. */
  async ready(ino: number, offset: number, length: number, signal?: AbortSignal): Promise<void> {
    if (!this.#inos.has(ino)) return;
    const whole = await whileRestoring(
      () => this.#mds.call('hsmWaitRange', { ino, offset, length }, signal),
      signal,
    );
    if (whole) this.#inos.delete(ino);
  }
}
