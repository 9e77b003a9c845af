// A rate-limited work queue of object keys, as client-go's: deduplicated, one worker per key at a time, delayed and backed-off adds.

/** How long to wait before retrying a key that failed: per key, growing with each failure. */
export interface RateLimiter {
  /** The delay before the next retry of `key`, counting this failure. */
  when(key: string): number;
  /** Forgets `key`'s failures (it succeeded). */
  forget(key: string): void;
  /** Failures of `key` since it last succeeded. */
  retries(key: string): number;
}

/** base · 2^failures, capped at max (client-go's ItemExponentialFailureRateLimiter). */
export class ExponentialBackoff implements RateLimiter {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #failures = new Map<string, number>();

  constructor(baseMs = 500, maxMs = 5 * 60_000) {
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  when(key: string): number {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    return Math.min(this.#maxMs, this.#baseMs * 2 ** Math.min(n, 40));
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  retries(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}

export interface WorkQueueOptions {
  limiter?: RateLimiter;
  /** Called whenever the number of keys waiting changes. */
  onDepth?: (depth: number) => void;
}

/**
 * Keys waiting to be processed. A key is in the queue at most once; a key added while a worker
 * holds it is queued again when the worker calls `done`, so no two workers ever hold the same key.
 * After `shutDown`, `get` resolves undefined once the queue is empty and adds are ignored.
 */
export class WorkQueue {
  readonly #queue: string[] = [];
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #waiters: (() => void)[] = [];
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #limiter: RateLimiter;
  readonly #onDepth: ((depth: number) => void) | undefined;
  #shuttingDown = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.#limiter = opts.limiter ?? new ExponentialBackoff();
    this.#onDepth = opts.onDepth;
  }

  get limiter(): RateLimiter {
    return this.#limiter;
  }

  /** Keys waiting (not counting those being processed or delayed). */
  len(): number {
    return this.#queue.length;
  }

  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#queue.push(key);
    this.#onDepth?.(this.#queue.length);
    // The woken worker takes the key in a later microtask, so adds in the same tick still coalesce.
    this.#waiters.shift()?.();
  }

  /** Adds `key` after `delayMs`; an earlier pending add of the same key wins over a later one. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.#timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    this.#timers.set(key, { at, timer });
  }

  /** Adds `key` after its rate limiter's delay; returns the delay. */
  addRateLimited(key: string): number {
    const delay = this.#limiter.when(key);
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.#limiter.forget(key);
  }

  /** The next key to process (mark it done when finished), or undefined after shutdown. */
  get(): Promise<string | undefined> {
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      this.#onDepth?.(this.#queue.length);
      return Promise.resolve(key);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise<void>((resolve) => this.#waiters.push(resolve)).then(() => this.get());
  }

  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.#shuttingDown) {
      this.#dirty.delete(key);
      this.add(key);
    }
  }

  /** Stops accepting keys, drops delayed adds and wakes idle workers with undefined. */
  shutDown(): void {
    this.#shuttingDown = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#queue.length = 0;
    this.#dirty.clear();
    this.#onDepth?.(0);
    for (const w of this.#waiters.splice(0)) w();
  }
}
