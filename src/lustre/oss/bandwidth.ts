// A bandwidth budget per OST: data calls are paced as if each target were a device moving a fixed number of bytes per second.
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Paces the bytes read from and written to each target so that a target never moves more than
 * `bytesPerSecond` on average: each call is scheduled after the ones before it on the same target
 * and resolves when its share of the budget has elapsed (a queue, like a device's). Used by
 * benchmarks to give every OST the same bandwidth, so that striping, not the shared disk, is what
 * is measured.
 */
export class BandwidthBudget {
  readonly #bytesPerSecond: number;
  readonly #busyUntil = new Map<string, number>();

  constructor(bytesPerSecond: number) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`bandwidth must be positive, got ${bytesPerSecond}`);
    this.#bytesPerSecond = bytesPerSecond;
  }

  /** Resolves once `bytes` of `target`'s budget have been spent (EINTR-free: it only waits). */
  async take(target: string, bytes: number, signal?: AbortSignal): Promise<void> {
    const now = performance.now();
    const start = Math.max(now, this.#busyUntil.get(target) ?? 0);
    const end = start + (bytes / this.#bytesPerSecond) * 1000;
    this.#busyUntil.set(target, end);
    if (end > now) await sleep(end - now, undefined, signal ? { signal } : undefined);
  }
}
