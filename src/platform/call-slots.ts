// A FIFO limit on calls in flight: callers past it wait their turn here rather than in an HTTP agent's queue.

/**
 * At most `size` holders at once; `take` resolves (in call order) with the function that gives the
 * slot back, or rejects with the signal's reason if it aborts first (then it holds nothing).
 */
export class CallSlots {
  readonly #size: number;
  #held = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#size = size;
  }

  async take(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (this.#held >= this.#size || this.#waiting.length > 0)
      await new Promise<void>((resolve, reject) => {
        const turn = () => {
          signal.removeEventListener('abort', gone);
          resolve();
        };
        const gone = () => {
          const i = this.#waiting.indexOf(turn);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(signal.reason);
        };
        this.#waiting.push(turn);
        signal.addEventListener('abort', gone, { once: true });
      });
    else this.#held++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const next = this.#waiting.shift();
      if (next)
        next(); // the slot passes straight to the next in line
      else this.#held--;
    };
  }
}
