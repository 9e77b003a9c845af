// Drains the pending-destroy log: OST objects of deleted files are destroyed on their OSS, retried with backoff until confirmed.
import type { Logger } from '../../lib/log.ts';
import { Backoff, BackoffQueue, targetOf } from './backoff-queue.ts';
import type { GroupCommit } from './commit.ts';
import type { OstDirectory } from './ost-directory.ts';
import type { Store } from './store.ts';

export type DestroyObjects = (
  objects: { target: string; objects: string[] },
  signal: AbortSignal,
) => Promise<void>;

export interface DestroyQueueOptions {
  store: Store;
  commit: GroupCommit;
  osts: OstDirectory;
  destroy: DestroyObjects;
  log: Logger;
  /** Objects per destroy call. */
  batch?: number;
  /** Deadline of one destroy call. */
  callTimeoutMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Rows leave the log only after `destroy` resolved for them (at-least-once: destroying a missing
 * object is not an error on the OSS). An OST whose calls fail is retried after a backoff that
 * doubles up to `maxBackoffMs`; others drain meanwhile. Nothing is ever dropped.
 */
export class DestroyQueue {
  readonly #o: Required<DestroyQueueOptions>;
  readonly #backoff: Backoff<number>;
  readonly #queue: BackoffQueue;

  constructor(opts: DestroyQueueOptions) {
    this.#o = { batch: 500, callTimeoutMs: 30_000, minBackoffMs: 500, maxBackoffMs: 60_000, ...opts };
    this.#backoff = new Backoff(this.#o.minBackoffMs, this.#o.maxBackoffMs);
    this.#queue = new BackoffQueue({
      pass: (signal) => this.#drain(signal),
      nextReadyAt: () => this.#backoff.earliest(this.#o.store.destroyOsts()),
    });
  }

  /** Starts a drain soon (or another pass after the running one). */
  wake(): void {
    this.#queue.wake();
  }

  /** Resolves once a drain in progress ended; later work waits for the next start. */
  stop(): Promise<void> {
    return this.#queue.stop();
  }

  async #drain(stop: AbortSignal): Promise<void> {
    for (;;) {
      const now = Date.now();
      const ready = this.#o.store.destroyOsts().filter((ost) => this.#backoff.until(ost) <= now);
      if (ready.length === 0 || stop.aborted) break;
      await Promise.all(ready.map((ost) => this.#drainOst(ost, stop)));
    }
  }

  async #drainOst(ost: number, stop: AbortSignal): Promise<void> {
    const rows = this.#o.store.pendingFor(ost, this.#o.batch);
    if (rows.length === 0) return;
    try {
      const target = await targetOf(this.#o.osts, ost);
      const signal = AbortSignal.any([stop, AbortSignal.timeout(this.#o.callTimeoutMs)]);
      await this.#o.destroy({ target, objects: rows.map((r) => r.object) }, signal);
      await this.#o.commit.apply(() => this.#o.store.removeDestroyed(ost, rows[0]!.id, rows.at(-1)!.id));
      this.#backoff.succeeded(ost);
    } catch (err) {
      const delay = this.#backoff.failed(ost);
      if (!stop.aborted) {
        this.#o.log.warn('destroying OST objects failed; will retry', {
          ost,
          objects: rows.length,
          delay,
          error: String(err),
        });
      }
    }
  }
}
