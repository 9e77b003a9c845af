// Small reads of many files batched per OST: the reads waiting for one OST go in one readMany call (the HSM agent's export of small files).
import { CallBatcher } from '../../lib/call-batcher.ts';
import type { ObjectRange } from '../protocol/oss-batch-messages.ts';
import { objectId, readableCopies } from '../striping.ts';
import type { Layout } from '../types.ts';
import type { OstPool } from './ost-pool.ts';

/** Ranges per readMany call (the OSS takes up to READ_MANY_MAX). */
const BATCH = 64;
/** Reads larger than this are not batched. */
export const BATCHED_READ_MAX = 1024 * 1024;

/**
 * Batches reads of the first stripe unit of files with one readable copy: every such read for an
 * OST that arrives while that OST's last call is out goes in its next one. The calls carry no
 * caller's signal (each serves many callers): they end by the OSS client's deadline.
 */
export class BatchedReads {
  readonly #pool: OstPool;
  readonly #byOst = new Map<number, CallBatcher<ObjectRange, Buffer>>();

  constructor(pool: OstPool) {
    this.#pool = pool;
  }

  /**
   * Bytes [offset, offset + length) of the file (zeros past its object's end), or undefined when
   * the range is not one this batches (past the first stripe unit, more than one readable copy,
   * over BATCHED_READ_MAX): the caller reads it as usual. Rejects as OstPool's calls do.
   */
  read(ino: number, layout: Layout, offset: number, length: number): Promise<Buffer> | undefined {
    if (length > BATCHED_READ_MAX || offset + length > layout.stripeSize) return undefined;
    const copies = readableCopies(layout, 0);
    const ost = copies[0];
    if (copies.length !== 1 || ost === undefined) return undefined;
    let batcher = this.#byOst.get(ost);
    if (!batcher) {
      batcher = new CallBatcher((reads) => this.#pool.readMany(ost, reads), { maxBatch: BATCH });
      this.#byOst.set(ost, batcher);
    }
    return batcher.call({ object: objectId(ino, 0), offset, length }).then((data) => {
      if (data.length === length) return data;
      const out = Buffer.alloc(length);
      data.copy(out);
      return out;
    });
  }
}
