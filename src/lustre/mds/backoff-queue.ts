// The background drain shared by the MDS's queues (object destruction, mirror resync): wake, one pass at a time, per-OST back-off.
import { FsError } from '../../lib/errors.ts';
import type { OstDirectory } from './ost-directory.ts';

export interface BackoffQueueOptions {
  /** One pass over the work that is ready now; it returns when nothing is ready or `signal` aborts. */
  pass: (signal: AbortSignal) => Promise<void>;
  /** When the earliest work not ready now becomes ready (ms since the epoch), or undefined if none waits. */
  nextReadyAt: () => number | undefined;
}

/**
 * Runs `pass` when woken, never two at once: a wake during a pass runs another pass after it. After
 * each pass it sets a timer for `nextReadyAt`. `stop` aborts the running pass and waits for it.
 */
export class BackoffQueue {
  readonly #o: BackoffQueueOptions;
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: BackoffQueueOptions) {
    this.#o = opts;
  }

  /** Aborted once `stop` was called. */
  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  /** Starts a pass soon (or another pass after the running one). */
  wake(): void {
    if (this.#stop.signal.aborted) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#o.pass(this.#stop.signal).finally(() => {
      this.#running = undefined;
      this.#schedule();
      if (this.#again) {
        this.#again = false;
        this.wake();
      }
    });
  }

  /** Resolves once a pass in progress ended; later work waits for the next start. */
  async stop(): Promise<void> {
    this.#stop.abort();
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#stop.signal.aborted) return;
    const next = this.#o.nextReadyAt();
    if (next === undefined) return;
    this.#timer = setTimeout(() => this.wake(), Math.max(0, next - Date.now()));
    this.#timer.unref();
  }
}

/** Per-key exponential back-off: each failure doubles the delay (from `minMs`, at most `maxMs`); a success forgets it. */
export class Backoff<K> {
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #state = new Map<K, { until: number; delay: number }>();

  constructor(minMs: number, maxMs: number) {
    this.#minMs = minMs;
    this.#maxMs = maxMs;
  }

  /** Records a failure of `key`; returns the delay before it is ready again. */
  failed(key: K): number {
    const prev = this.#state.get(key)?.delay ?? 0;
    const delay = Math.min(this.#maxMs, Math.max(this.#minMs, prev * 2));
    this.#state.set(key, { until: Date.now() + delay, delay });
    return delay;
  }

  succeeded(key: K): void {
    this.#state.delete(key);
  }

  /** When `key` is ready again (0: now). */
  until(key: K): number {
    return this.#state.get(key)?.until ?? 0;
  }

  /** The earliest time one of `keys` backing off is ready again, undefined if none is. */
  earliest(keys: Iterable<K>): number | undefined {
    let next: number | undefined;
    for (const k of keys) {
      const u = this.#state.get(k)?.until;
      if (u !== undefined && (next === undefined || u < next)) next = u;
    }
    return next;
  }
}

/** The target name of OST `index`, refreshing the OST list once if it is unknown; ENODEV if it stays unknown. */
export async function targetOf(osts: OstDirectory, index: number): Promise<string> {
  let info = osts.byIndex(index);
  if (!info) {
    await osts.refresh();
    info = osts.byIndex(index);
  }
  if (!info) throw new FsError('ENODEV', `OST index ${index} is unknown to the MGS`);
  return info.target;
}
