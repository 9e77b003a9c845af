// The MDS's cached view of the file system's OSTs, refreshed in the background from the MGS-backed source cmd/ wires in.
import { DeadlineExceededError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { OstInfo } from './layout.ts';

/**
 * Keeps the last good OST list. `current()` is synchronous so placing stripes never waits on the
 * network; `refresh()` fetches with a deadline and keeps the old list when the fetch fails.
 */
export class OstDirectory {
  readonly #fetch: () => Promise<OstInfo[]>;
  readonly #log: Logger;
  readonly #timeoutMs: number;
  #list: readonly OstInfo[] = [];
  #inflight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(fetch: () => Promise<OstInfo[]>, log: Logger, timeoutMs = 5_000) {
    this.#fetch = fetch;
    this.#log = log;
    this.#timeoutMs = timeoutMs;
  }

  current(): readonly OstInfo[] {
    return this.#list;
  }

  byIndex(index: number): OstInfo | undefined {
    return this.#list.find((o) => o.index === index);
  }

  /** Fetches the list now (joining a fetch in flight). Never rejects; failures are logged. */
  refresh(): Promise<void> {
    this.#inflight ??= this.#load().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** Refreshes every `everyMs` until stop(). */
  start(everyMs: number): void {
    this.#timer = setInterval(() => void this.refresh(), everyMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #load(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new DeadlineExceededError(`no OST list within ${this.#timeoutMs} ms`)),
          this.#timeoutMs,
        );
      });
      const list = await Promise.race([this.#fetch(), deadline]);
      this.#list = list.filter((o) => Number.isSafeInteger(o.index) && o.index >= 0);
    } catch (err) {
      this.#log.warn('cannot refresh the OST list; keeping the last one', {
        error: String(err),
        known: this.#list.length,
      });
    } finally {
      clearTimeout(timer);
    }
  }
}
