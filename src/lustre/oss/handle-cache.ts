// An LRU cache of open object files (fs/promises FileHandle) shared by all OSTs of one OSS, with per-object locks.
import type { FileHandle } from 'node:fs/promises';
import { logger } from '../../lib/log.ts';

const log = logger('oss');

/** Readers/writers lock, first come first served (a waiting exclusive holder is not starved). */
export class RwLock {
  #readers = 0;
  #writer = false;
  readonly #queue: { exclusive: boolean; resolve: () => void }[] = [];

  async lock(exclusive: boolean): Promise<void> {
    if (this.#queue.length === 0 && this.#free(exclusive)) {
      this.#take(exclusive);
      return;
    }
    await new Promise<void>((resolve) => this.#queue.push({ exclusive, resolve }));
  }

  unlock(exclusive: boolean): void {
    if (exclusive) this.#writer = false;
    else this.#readers--;
    while (this.#queue.length > 0 && this.#free(this.#queue[0]!.exclusive)) {
      const next = this.#queue.shift()!;
      this.#take(next.exclusive);
      next.resolve();
    }
  }

  #free(exclusive: boolean): boolean {
    return !this.#writer && (!exclusive || this.#readers === 0);
  }

  #take(exclusive: boolean): void {
    if (exclusive) this.#writer = true;
    else this.#readers++;
  }
}

/** One open object. `size` and `allocated` are the last values seen by fstat (or set by the owner). */
export interface CachedObject {
  readonly key: string;
  readonly handle: FileHandle;
  readonly lock: RwLock;
  size: number;
  /** Bytes allocated on disk (st_blocks * 512) as last accounted for by the OST. */
  allocated: number;
  /** Set once the object's file is unlinked: holders must not use it for new work. */
  dead: boolean;
  /** Sequence numbers of fstat calls issued / applied, so an older result never overwrites a newer one. */
  statIssued: number;
  statApplied: number;
  refs: number;
}

/** Opens an object's file, or resolves undefined when it does not exist and must not be created. */
export type Opener = () => Promise<{ handle: FileHandle; size: number; allocated: number } | undefined>;

/**
 * Keeps at most `maxOpen` idle objects open, closing the least recently used first. There is at most
 * one entry per key: an entry in use (refs > 0) is never evicted, so the cache may briefly hold more.
 * Concurrent `acquire`s of one key share one open.
 */
export class HandleCache {
  readonly #maxOpen: number;
  readonly #entries = new Map<string, CachedObject>();
  readonly #opening = new Map<string, Promise<CachedObject | undefined>>();

  constructor(maxOpen: number) {
    this.#maxOpen = maxOpen;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Returns the entry with one more reference, opening it with `open` if needed. Pair with `release`. */
  async acquire(key: string, open: Opener): Promise<CachedObject | undefined> {
    for (;;) {
      const hit = this.#entries.get(key);
      if (hit) {
        this.#entries.delete(key);
        this.#entries.set(key, hit);
        hit.refs++;
        return hit;
      }
      const pending = this.#opening.get(key);
      if (pending) {
        await pending.catch(() => undefined);
        continue;
      }
      const p = this.#open(key, open);
      this.#opening.set(key, p);
      try {
        const entry = await p;
        if (entry) entry.refs++;
        return entry;
      } finally {
        this.#opening.delete(key);
      }
    }
  }

  release(entry: CachedObject): void {
    entry.refs--;
    if (entry.refs === 0 && (entry.dead || this.#entries.get(entry.key) !== entry)) close(entry);
    else this.#evict();
  }

  /** Forgets the entry (its file is gone); it is closed once the last holder releases it. */
  remove(entry: CachedObject): void {
    entry.dead = true;
    if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
  }

  /** Closes every idle entry whose key starts with `prefix`; returns how many were in use. */
  async closeWhere(prefix: string): Promise<number> {
    const closing: Promise<void>[] = [];
    let busy = 0;
    for (const [key, entry] of this.#entries) {
      if (!key.startsWith(prefix)) continue;
      if (entry.refs > 0) {
        busy++;
        continue;
      }
      this.#entries.delete(key);
      closing.push(close(entry));
    }
    await Promise.all(closing);
    return busy;
  }

  async #open(key: string, open: Opener): Promise<CachedObject | undefined> {
    const opened = await open();
    if (!opened) return undefined;
    const entry: CachedObject = {
      key,
      handle: opened.handle,
      lock: new RwLock(),
      size: opened.size,
      allocated: opened.allocated,
      dead: false,
      statIssued: 0,
      statApplied: 0,
      refs: 0,
    };
    this.#entries.set(key, entry);
    return entry;
  }

  #evict(): void {
    if (this.#entries.size <= this.#maxOpen) return;
    for (const [key, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxOpen) break;
      if (entry.refs > 0) continue;
      this.#entries.delete(key);
      void close(entry);
    }
  }
}

async function close(entry: CachedObject): Promise<void> {
  try {
    await entry.handle.close();
  } catch (err) {
    log.warn('closing an object file failed', { key: entry.key, error: String(err) });
  }
}
