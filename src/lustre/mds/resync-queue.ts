// Drains the stale-replica table: copies each stale mirror object from its good copy, retried with backoff until its OST is back.
//
// Why a cleared record is never wrong: a client writes only the good copy of a stripe that has a
// stale record (or whose other copy just failed), and reports every such write with markStale,
// which bumps the record's generation in the MDT transaction before the write is acknowledged.
// The resync notes the generation, copies the whole good object over the stale one, then deletes
// the record in a transaction only if the generation is unchanged. So a write acknowledged during
// the copy either was read by the copy or bumped the generation and keeps the record (the next
// pass copies again). Nobody but the resync writes a copy while it is recorded stale. A resync
// also waits `settleMs` after the last report, so that clients have heard of the record (the MDS
// pushes an invalidation to them) before the stale copy becomes readable again.
import type { Logger } from '../../lib/log.ts';
import type { Layout } from '../types.ts';
import { Backoff, BackoffQueue, targetOf } from './backoff-queue.ts';
import type { GroupCommit } from './commit.ts';
import { copyDown } from './copy-down.ts';
import type { OstDirectory } from './ost-directory.ts';
import { clearStale, dropStale, type StaleRecord, staleRecords } from './stale.ts';
import type { Store } from './store.ts';

/** Makes `toTarget`'s copy of `object` equal to `fromTarget`'s (contents and size). */
export type ResyncObject = (
  copy: { fromTarget: string; toTarget: string; object: string },
  signal: AbortSignal,
) => Promise<void>;

export interface ResyncQueueOptions {
  store: Store;
  commit: GroupCommit;
  osts: OstDirectory;
  resync: ResyncObject;
  /** The inode's layout, undefined if the inode is gone. */
  layoutOf: (ino: number) => Layout | null | undefined;
  /** Called after a record was cleared (clients should refetch the layout). */
  onCleared?: (ino: number) => void;
  log: Logger;
  /** Deadline of one object copy. */
  callTimeoutMs?: number;
  /** Delay after the last markStale of a copy before it is resynced. */
  settleMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Runs in the background of an MDT. A record leaves the table only after its copy was made equal
 * to the good one with no write reported meanwhile, or when its inode or layout no longer has
 * that copy. An OST whose copies fail is retried after a backoff doubling up to `maxBackoffMs`.
 */
export class ResyncQueue {
  readonly #o: Required<ResyncQueueOptions>;
  readonly #backoff: Backoff<number>;
  readonly #queue: BackoffQueue;

  constructor(opts: ResyncQueueOptions) {
    this.#o = {
      onCleared: () => undefined,
      callTimeoutMs: 300_000,
      settleMs: 1_000,
      minBackoffMs: 250,
      maxBackoffMs: 10_000,
      ...opts,
    };
    this.#backoff = new Backoff(this.#o.minBackoffMs, this.#o.maxBackoffMs);
    this.#queue = new BackoffQueue({
      pass: (signal) => this.#drain(signal),
      nextReadyAt: () => {
        let next: number | undefined;
        for (const r of staleRecords(this.#o.store.db)) next = Math.min(next ?? Infinity, this.#readyAt(r));
        return next;
      },
    });
  }

  /** Starts a pass soon (or another pass after the running one). */
  wake(): void {
    this.#queue.wake();
  }

  stop(): Promise<void> {
    return this.#queue.stop();
  }

  #readyAt(r: StaleRecord): number {
    return Math.max(r.since + this.#o.settleMs, this.#backoff.until(r.ost));
  }

  async #drain(stop: AbortSignal): Promise<void> {
    try {
      for (;;) {
        const now = Date.now();
        const ready = staleRecords(this.#o.store.db).filter((r) => this.#readyAt(r) <= now);
        if (ready.length === 0 || stop.aborted) break;
        for (const r of ready) {
          if (stop.aborted) break;
          if (this.#backoff.until(r.ost) > Date.now()) continue;
          await this.#resync(r, stop);
        }
      }
    } catch (err) {
      if (!stop.aborted) this.#o.log.error('resync pass failed', { error: String(err) });
    }
  }

  async #resync(r: StaleRecord, stop: AbortSignal): Promise<void> {
    const layout = this.#o.layoutOf(r.ino);
    const primary = layout?.osts[r.stripe];
    const mirror = layout?.mirrors?.[r.stripe];
    if (primary === undefined || mirror === undefined || (r.ost !== primary && r.ost !== mirror)) {
      await this.#o.commit.apply(() => dropStale(this.#o.store.db, r.ino));
      return;
    }
    const good = r.ost === primary ? mirror : primary;
    try {
      const [from, to] = [await targetOf(this.#o.osts, good), await targetOf(this.#o.osts, r.ost)];
      const signal = AbortSignal.any([stop, AbortSignal.timeout(this.#o.callTimeoutMs)]);
      const object = `${r.ino}.${r.stripe}`;
      await this.#o.resync({ fromTarget: from, toTarget: to, object }, signal);
      const cleared = await this.#o.commit.apply(() => clearStale(this.#o.store.db, r));
      this.#backoff.succeeded(r.ost);
      if (cleared) this.#o.onCleared(r.ino);
      this.#o.log.info(cleared ? 'stale copy resynced' : 'copy written during resync; will copy again', {
        ino: r.ino,
        stripe: r.stripe,
        ost: r.ost,
      });
    } catch (err) {
      const first = this.#backoff.until(r.ost) === 0;
      const delay = this.#backoff.failed(r.ost);
      if (stop.aborted) return;
      // A copy that is down (its server away, or its target missing there: ENODEV) waits with the
      // record kept; said once, not at every retry. Other failures are logged each time.
      if (!copyDown(err)) {
        this.#o.log.warn('resyncing a stale copy failed; will retry', { ...r, delay, error: String(err) });
      } else if (first) {
        this.#o.log.warn('a copy of a stale stripe is down; its resync waits for it', {
          ...r,
          error: String(err),
        });
      }
    }
  }
}
