// FUSE INTERRUPTs read before the request they name: kept a moment, then answered EAGAIN so the kernel resends them.
/**
 * The kernel may hand one read loop an INTERRUPT before another loop's read of the interrupted
 * request has been dispatched. Such an INTERRUPT is held for `graceMs`: if its request arrives it
 * is answered EINTR unstarted (take), else `answerAgain` answers the INTERRUPT (EAGAIN: the kernel
 * resends it if the request is still pending).
 */
export class EarlyInterrupts {
  /** Target unique → INTERRUPT unique. */
  readonly #held = new Map<number, { unique: number; timer: NodeJS.Timeout }>();
  readonly #graceMs: number;
  readonly #answerAgain: (interruptUnique: number) => void;

  constructor(graceMs: number, answerAgain: (interruptUnique: number) => void) {
    this.#graceMs = graceMs;
    this.#answerAgain = answerAgain;
  }

  /** Holds the INTERRUPT `unique` for the request `target`, not seen yet. */
  hold(target: number, unique: number): void {
    const timer = setTimeout(() => {
      this.#held.delete(target);
      this.#answerAgain(unique);
    }, this.#graceMs);
    timer.unref();
    this.#held.set(target, { unique, timer });
  }

  /** True when the request `target` was interrupted before it started (and forgets the INTERRUPT). */
  take(target: number): boolean {
    const early = this.#held.get(target);
    if (!early) return false;
    clearTimeout(early.timer);
    this.#held.delete(target);
    return true;
  }

  /** The session ends: no INTERRUPT is answered any more. */
  clear(): void {
    for (const { timer } of this.#held.values()) clearTimeout(timer);
    this.#held.clear();
  }
}
