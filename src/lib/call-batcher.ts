// Calls grouped into batches as a group commit groups writers: whoever arrives while a batch is out goes in the next one.

/**
 * Sends items through `send`, many per call. The first item of an idle batcher waits for the end
 * of the current event-loop turn (setImmediate, not a timer) so that everything queued in that turn
 * goes with it; while `inFlight` batches are out, new items queue and leave together when one
 * returns, at most `maxBatch` per call. `send` resolves with one result per item, in order; if it
 * rejects (or answers with another count), every item of that batch rejects with that error.
 */
export class CallBatcher<I, O> {
  readonly #send: (items: I[]) => Promise<O[]>;
  readonly #maxBatch: number;
  readonly #inFlight: number;
  #queue: { item: I; done: PromiseWithResolvers<O> }[] = [];
  #out = 0;
  #scheduled = false;
  /** Statistics: calls sent and items in them. */
  readonly stats = { batches: 0, items: 0 };

  constructor(send: (items: I[]) => Promise<O[]>, opts: { maxBatch: number; inFlight?: number }) {
    if (!Number.isSafeInteger(opts.maxBatch) || opts.maxBatch < 1)
      throw new RangeError('maxBatch must be >= 1');
    this.#send = send;
    this.#maxBatch = opts.maxBatch;
    this.#inFlight = opts.inFlight ?? 1;
  }

  /** Resolves with the item's result once its batch has returned. */
  call(item: I): Promise<O> {
    const done = Promise.withResolvers<O>();
    this.#queue.push({ item, done });
    if (this.#out < this.#inFlight && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#flush();
      });
    }
    return done.promise;
  }

  #flush(): void {
    while (this.#out < this.#inFlight && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.#out++;
      this.stats.batches++;
      this.stats.items += batch.length;
      void this.#run(batch);
    }
  }

  async #run(batch: { item: I; done: PromiseWithResolvers<O> }[]): Promise<void> {
    try {
      const results = await this.#send(batch.map((b) => b.item));
      if (results.length !== batch.length)
        throw new Error(`a batch of ${batch.length} got ${results.length} results`);
      for (const [i, b] of batch.entries()) b.done.resolve(results[i] as O);
    } catch (err) {
      for (const b of batch) b.done.reject(err);
    } finally {
      this.#out--;
      this.#flush();
    }
  }
}
