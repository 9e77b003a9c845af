// Which inodes a caching FUSE daemon may have left pages of in the kernel, in a file beside its keeper's state: the daemon that adopts the mount drops them before it reports ready.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { DeadlineExceededError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';

/** Deadline of one append to the journal (a local file). */
const WRITE_TIMEOUT_MS = 10_000;
/** The journal file is rewritten with the live inodes once it holds this many lines and twice the live set. */
const COMPACT_MIN_LINES = 4096;

/**
 * A caching daemon's pages live in the kernel, which outlives the daemon when a keeper holds the
 * mount; its data locks die with it. The daemon records each inode once, before the first read
 * that may cache its pages (an append to the journal, which survives the process), and the next
 * daemon reads the list and has the kernel drop those inodes' pages (NOTIFY_INVAL_INODE) before it
 * serves as ready. An inode the kernel forgot (FORGET to lookup count 0: it evicted the inode and
 * its pages) leaves the live set, and the file is rewritten with the live set once it has grown
 * well past it, so both stay the size of what the kernel holds, not of every inode ever read.
 * Appends and rewrites run one at a time, in order. A failed append is logged (the read goes on:
 * failing it would not make the kernel's pages go away either).
 */
export class PageJournal {
  readonly #path: string;
  readonly #log: Logger;
  /** Recorded by this daemon. */
  readonly #recorded = new Set<number>();
  /** Recorded by a previous daemon and not yet dropped from the kernel. */
  readonly #inherited = new Set<number>();
  #chain: Promise<void> = Promise.resolve();
  /** Lines in the journal file now (appends since the last rewrite included). */
  #lines = 0;

  private constructor(path: string, log: Logger) {
    this.#path = path;
    this.#log = log;
  }

  /**
   * Opens the journal at `path`. `adopting`: a previous daemon served this mount, so the inodes it
   * recorded are returned (they stay in the journal until `forget`); otherwise the journal starts
   * empty (the kernel has no pages of a mount that was just made).
   */
  static async open(
    path: string,
    adopting: boolean,
    log: Logger,
    signal?: AbortSignal,
  ): Promise<{ journal: PageJournal; previous: number[] }> {
    const journal = new PageJournal(path, log);
    if (!adopting) {
      await writeFile(path, '', { signal });
      return { journal, previous: [] };
    }
    const text = await readFile(path, { encoding: 'utf8', signal }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    const previous = new Set<number>();
    for (const line of text.split('\n')) {
      const ino = Number(line);
      if (line !== '' && Number.isSafeInteger(ino) && ino > 0) previous.add(ino);
    }
    for (const ino of previous) journal.#inherited.add(ino);
    journal.#lines = text.split('\n').length - 1;
    return { journal, previous: [...previous] };
  }

  /** Records `ino` (once per daemon); resolves once the record is written. */
  record(ino: number): Promise<void> {
    if (this.#recorded.has(ino)) return this.#chain;
    this.#recorded.add(ino);
    return this.#then(async () => {
      await writeFile(this.#path, `${ino}\n`, { flag: 'a', signal: AbortSignal.timeout(WRITE_TIMEOUT_MS) });
      this.#lines++;
    });
  }

  /**
   * The kernel forgot `ino` (its lookup count reached zero): it holds none of its pages, so it
   * leaves the live set (a later read records it again); rewrites the file once it is mostly dead
   * lines. Resolves once any rewrite is done.
   */
  forgotten(ino: number): Promise<void> {
    const had = this.#recorded.delete(ino) || this.#inherited.delete(ino);
    const live = this.#recorded.size + this.#inherited.size;
    if (!had || this.#lines < COMPACT_MIN_LINES || this.#lines < 2 * live) return this.#chain;
    return this.#then(() => this.#rewrite(AbortSignal.timeout(WRITE_TIMEOUT_MS)));
  }

  /** Inodes the kernel may hold pages of and lines in the file (for tests and logs). */
  get size(): { live: number; lines: number } {
    return { live: this.#recorded.size + this.#inherited.size, lines: this.#lines };
  }

  /** The inodes of a previous daemon are dropped from the kernel: the journal keeps only the others. */
  forget(inodes: readonly number[], signal?: AbortSignal): Promise<void> {
    return this.#then(async () => {
      for (const ino of inodes) this.#inherited.delete(ino);
      await this.#rewrite(signal);
    });
  }

  /** Replaces the file with the live set (atomically: a crash leaves the old file or the new one). */
  async #rewrite(signal?: AbortSignal): Promise<void> {
    if (this.#lines === 0 && this.#recorded.size + this.#inherited.size === 0) return;
    const keep = new Set([...this.#recorded, ...this.#inherited]);
    const tmp = `${this.#path}.tmp`;
    await writeFile(tmp, [...keep].map((i) => `${i}\n`).join(''), { signal });
    await rename(tmp, this.#path);
    this.#lines = keep.size;
  }

  #then(step: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(step).catch((err: unknown) => {
      this.#log.error(
        'cannot write the page journal: a daemon that adopts this mount may serve pages cached now',
        {
          path: this.#path,
          error: String(err),
        },
      );
    });
    this.#chain = next;
    return next;
  }
}

/**
 * Has `drop` (the kernel drop the pages of an inode) run on every one of `inodes`, at most
 * `concurrency` at a time; rejects with DeadlineExceededError when they are not all done by
 * `signal` (the adopting daemon must not report ready while a previous daemon's pages may remain).
 */
export async function dropAll(
  inodes: readonly number[],
  drop: (ino: number) => Promise<void>,
  concurrency: number,
  signal: AbortSignal,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < inodes.length) {
      if (signal.aborted)
        throw new DeadlineExceededError(
          `dropped the kernel's pages of ${next} of ${inodes.length} inodes the previous daemon cached before the deadline`,
          { cause: signal.reason },
        );
      await drop(inodes[next++]!);
    }
  };
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () =>
      reject(
        new DeadlineExceededError(
          `the kernel did not drop the pages of the ${inodes.length} inodes the previous daemon cached in time`,
          { cause: signal.reason },
        ),
      );
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([
      Promise.all(Array.from({ length: Math.min(concurrency, inodes.length) }, worker)),
      aborted,
    ]);
  } finally {
    signal.removeEventListener('abort', onAbort);
    aborted.catch(() => undefined);
  }
}
