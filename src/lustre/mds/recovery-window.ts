// A recovery window after a server restart (Lustre's): known clients re-assert their state; new requests wait until they have or the window ends.
import { FsError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';

export interface RecoveryWindowOptions {
  /** Clients that were connected before the restart and may hold state to re-assert. */
  expected: readonly string[];
  /** How long the window stays open at most (ms). */
  durationMs: number;
  /** What is being recovered, for the log ("flock/POSIX locks"). */
  what: string;
  log: Logger;
}

/**
 * Opens at a restart when clients from before it may come back; while open, requests that could
 * conflict with their state wait (`wait`), and what the clients re-assert is granted as it was.
 * Closes when every expected client said it is done (`recovered`) or is gone (`gone`), or when
 * `durationMs` has passed: state nobody re-asserted by then belongs to clients that are gone.
 * Usable for any state clients replay (flock/POSIX locks here; LDLM locks alike).
 */
export class RecoveryWindow {
  readonly #waiting: Set<string>;
  readonly #done = Promise.withResolvers<void>();
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #o: RecoveryWindowOptions | undefined;
  #open: boolean;

  constructor(opts?: RecoveryWindowOptions) {
    this.#o = opts;
    this.#waiting = new Set(opts?.expected ?? []);
    this.#open = this.#waiting.size > 0;
    if (!this.#open || !opts) {
      this.#done.resolve();
      return;
    }
    opts.log.info(`recovery window open: waiting for clients to re-assert their ${opts.what}`, {
      clients: this.#waiting.size,
      windowMs: opts.durationMs,
    });
    this.#timer = setTimeout(() => this.#close('window over'), opts.durationMs);
    this.#timer.unref();
  }

  /** A window that is already closed (nothing to recover). */
  static closed(): RecoveryWindow {
    return new RecoveryWindow();
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /** Resolves once the window has closed (at once if it has); EINTR if `signal` aborts first. */
  async wait(signal?: AbortSignal): Promise<void> {
    if (!this.#open) return;
    if (!signal) return await this.#done.promise;
    signal.throwIfAborted();
    const aborted = Promise.withResolvers<never>();
    const onAbort = () => aborted.reject(new FsError('EINTR', 'interrupted while the server recovers'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race([this.#done.promise, aborted.promise]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** `client` has re-asserted all it holds. */
  recovered(client: string): void {
    if (this.#waiting.delete(client) && this.#waiting.size === 0) this.#close('every client recovered');
  }

  /** `client` will not come back (evicted). */
  gone(client: string): void {
    this.recovered(client);
  }

  /** Ends the window now (the server is closing). */
  close(): void {
    this.#close('server closing');
  }

  #close(why: string): void {
    if (!this.#open) return;
    this.#open = false;
    clearTimeout(this.#timer);
    if (this.#o) {
      this.#o.log.info(`recovery window closed: ${why}`, {
        what: this.#o.what,
        missing: [...this.#waiting],
      });
    }
    this.#done.resolve();
  }
}
