// Group commit: the mutations of concurrent requests run in one SQLite transaction, committed once per event-loop turn.
import type { DatabaseSync } from 'node:sqlite';
import { FsError } from '../../lib/errors.ts';

export interface GroupCommitOptions {
  /** false: one transaction per mutation (for measurement). Default true. */
  grouped?: boolean;
  /** A batch is committed early once it holds this many mutations. */
  maxBatch?: number;
}

interface Batch {
  size: number;
  done: PromiseWithResolvers<void>;
}

/**
 * Runs mutations against `db`. Each mutation runs synchronously, at once, under its own savepoint
 * inside the open batch transaction, so it sees every earlier mutation and a throw undoes only its
 * own changes. The batch commits in the same event-loop turn's check phase (setImmediate), after
 * every request that arrived in that turn ran: one commit (one fsync with synchronous=FULL) for
 * all of them. A mutation's promise resolves only once its batch is committed, so nothing is
 * acknowledged before it is durable. If the commit fails, every mutation of the batch rejects
 * with EIO and nothing of it persists.
 */
export class GroupCommit {
  readonly #db: DatabaseSync;
  readonly #grouped: boolean;
  readonly #maxBatch: number;
  #batch: Batch | undefined;
  #closed = false;
  /** Statistics: committed transactions and mutations. */
  readonly stats = { commits: 0, mutations: 0 };

  constructor(db: DatabaseSync, opts: GroupCommitOptions = {}) {
    this.#db = db;
    this.#grouped = opts.grouped ?? true;
    this.#maxBatch = opts.maxBatch ?? 4096;
  }

  /** Runs `fn` now; resolves with its result once durable, rejects with its error (its changes undone). */
  apply<T>(fn: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new FsError('EIO', 'the MDT is closed'));
    const batch = this.#open();
    this.#db.exec('SAVEPOINT mutation');
    let value: T;
    try {
      value = fn();
    } catch (err) {
      if (!this.#db.isTransaction) return this.#lost(batch, err);
      this.#db.exec('ROLLBACK TO mutation');
      this.#db.exec('RELEASE mutation');
      this.#afterMutation(batch);
      return batch.done.promise.then(() => Promise.reject(err));
    }
    if (!this.#db.isTransaction)
      return this.#lost(batch, new Error('the transaction ended inside a mutation'));
    this.#db.exec('RELEASE mutation');
    this.#afterMutation(batch);
    return batch.done.promise.then(() => value);
  }

  /**
   * SQLite rolled the whole batch back on its own (it does after SQLITE_FULL, SQLITE_IOERR,
   * SQLITE_NOMEM and the like): nothing of the batch persists, so every mutation in it fails with
   * EIO naming the cause, and the next mutation opens a fresh transaction instead of running
   * outside one.
   */
  #lost(batch: Batch, cause: unknown): Promise<never> {
    if (this.#batch === batch) this.#batch = undefined;
    const err = new FsError('EIO', `MDT transaction rolled back: ${String(cause)}`, { cause });
    batch.done.reject(err);
    return Promise.reject(err);
  }

  /** Whether a batch is open (mutations applied and not committed yet). */
  get busy(): boolean {
    return this.#batch !== undefined;
  }

  /** Resolves when everything applied so far is durable (at once if no batch is open). */
  settled(): Promise<void> {
    return this.#batch ? this.#batch.done.promise : Promise.resolve();
  }

  /** Commits what is open and refuses further mutations. */
  close(): void {
    if (this.#batch) this.#commit();
    this.#closed = true;
  }

  #open(): Batch {
    if (this.#batch) return this.#batch;
    this.#db.exec('BEGIN IMMEDIATE');
    const batch: Batch = { size: 0, done: Promise.withResolvers<void>() };
    // Batches that fail are reported through each mutation's promise; keep the rejection handled.
    batch.done.promise.catch(() => {});
    this.#batch = batch;
    if (this.#grouped) setImmediate(() => this.#batch === batch && this.#commit());
    return batch;
  }

  #afterMutation(batch: Batch): void {
    batch.size++;
    if (!this.#grouped || batch.size >= this.#maxBatch) this.#commit();
  }

  #commit(): void {
    const batch = this.#batch;
    if (!batch) return;
    this.#batch = undefined;
    try {
      this.#db.exec('COMMIT');
      this.stats.commits++;
      this.stats.mutations += batch.size;
      batch.done.resolve();
    } catch (err) {
      try {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      } catch {
        // The rollback failing too leaves nothing more to undo here.
      }
      batch.done.reject(new FsError('EIO', `MDT commit failed: ${String(err)}`, { cause: err }));
    }
  }
}
