// Drains the pending-destroy log: OST objects of deleted files are destroyed on their OSS, retried with backoff until confirmed.
import type { Logger } from '../../lib/log.ts';
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
  readonly #stop = new AbortController();
  readonly #backoff = new Map<number, { until: number; delay: number }>();
  #running: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: DestroyQueueOptions) {
    this.#o = { batch: 500, callTimeoutMs: 30_000, minBackoffMs: 500, maxBackoffMs: 60_000, ...opts };
  }

  /** Starts a drain soon (or another pass after the running one). */
  wake(): void {
    if (this.#stop.signal.aborted) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.wake();
      }
    });
  }

  /** Resolves once a drain in progress ended; later work waits for the next start. */
  async stop(): Promise<void> {
    this.#stop.abort();
    clearTimeout(this.#timer);
    await this.#running;
  }

  async #drain(): Promise<void> {
    for (;;) {
      const now = Date.now();
      const ready = this.#o.store.destroyOsts().filter((ost) => (this.#backoff.get(ost)?.until ?? 0) <= now);
      if (ready.length === 0 || this.#stop.signal.aborted) break;
      await Promise.all(ready.map((ost) => this.#drainOst(ost)));
    }
    this.#scheduleRetry();
  }

  async #drainOst(ost: number): Promise<void> {
    const rows = this.#o.store.pendingFor(ost, this.#o.batch);
    if (rows.length === 0) return;
    try {
      let info = this.#o.osts.byIndex(ost);
      if (!info) {
        await this.#o.osts.refresh();
        info = this.#o.osts.byIndex(ost);
      }
      if (!info) throw new Error(`OST index ${ost} is unknown`);
      const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(this.#o.callTimeoutMs)]);
      await this.#o.destroy({ target: info.target, objects: rows.map((r) => r.object) }, signal);
      await this.#o.commit.apply(() => this.#o.store.removeDestroyed(ost, rows[0]!.id, rows.at(-1)!.id));
      this.#backoff.delete(ost);
    } catch (err) {
      const prev = this.#backoff.get(ost)?.delay ?? 0;
      const delay = Math.min(this.#o.maxBackoffMs, Math.max(this.#o.minBackoffMs, prev * 2));
      this.#backoff.set(ost, { until: Date.now() + delay, delay });
      if (!this.#stop.signal.aborted) {
        this.#o.log.warn('destroying OST objects failed; will retry', {
          ost,
          objects: rows.length,
          delay,
          error: String(err),
        });
      }
    }
  }

  #scheduleRetry(): void {
    clearTimeout(this.#timer);
    if (this.#stop.signal.aborted) return;
    const pending = new Set(this.#o.store.destroyOsts());
    let next = Number.POSITIVE_INFINITY;
    for (const [ost, b] of this.#backoff) if (pending.has(ost)) next = Math.min(next, b.until);
    if (next === Number.POSITIVE_INFINITY) return;
    this.#timer = setTimeout(() => this.wake(), Math.max(0, next - Date.now()));
    this.#timer.unref();
  }
}
