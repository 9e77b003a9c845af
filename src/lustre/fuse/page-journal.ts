// Which inodes a caching FUSE daemon may have left pages of in the kernel, in a file beside its keeper's state: the daemon that adopts the mount drops them before it reports ready.
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Logger } from '../../lib/log.ts';

/** Deadline of one append to the journal (a local file). */
const WRITE_TIMEOUT_MS = 10_000;

/**
 * A caching daemon's pages live in the kernel, which outlives the daemon when a keeper holds the
 * mount; its data locks die with it. The daemon records each inode once, before the first read
 * that may cache its pages (an append to the journal, which survives the process), and the next
 * daemon reads the list and has the kernel drop those inodes' pages (NOTIFY_INVAL_INODE) before it
 * serves as ready. Appends and rewrites run one at a time, in order. A failed append is logged
 * (the read goes on: failing it would not make the kernel's pages go away either).
 */
export class PageJournal {
  readonly #path: string;
  readonly #log: Logger;
  /** Recorded by this daemon. */
  readonly #recorded = new Set<number>();
  /** Recorded by a previous daemon and not yet dropped from the kernel. */
  readonly #inherited = new Set<number>();
  #chain: Promise<void> = Promise.resolve();

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
    return { journal, previous: [...previous] };
  }

  /** Records `ino` (once per daemon); resolves once the record is written. */
  record(ino: number): Promise<void> {
    if (this.#recorded.has(ino)) return this.#chain;
    this.#recorded.add(ino);
    return this.#then(() =>
      writeFile(this.#path, `${ino}\n`, { flag: 'a', signal: AbortSignal.timeout(WRITE_TIMEOUT_MS) }),
    );
  }

  /** The inodes of a previous daemon are dropped from the kernel: the journal keeps only the others. */
  forget(inodes: readonly number[], signal?: AbortSignal): Promise<void> {
    return this.#then(async () => {
      for (const ino of inodes) this.#inherited.delete(ino);
      const keep = new Set([...this.#recorded, ...this.#inherited]);
      const tmp = `${this.#path}.tmp`;
      await writeFile(tmp, [...keep].map((i) => `${i}\n`).join(''), { signal });
      await rename(tmp, this.#path);
    });
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
