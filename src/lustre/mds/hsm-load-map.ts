// Which pieces of a file being restored are on the OSTs yet: hands pieces to the agent (readers' wanted ranges first) and wakes readers whose range arrived.

/** A piece handed to an agent that did not report it within this time is handed out again. */
export const PIECE_LEASE_MS = 60_000;

interface RangeWaiter {
  first: number;
  last: number;
  resolve: () => void;
}

/**
 * The load of one released file in `chunkBytes` pieces (piece i covers [i·chunkBytes, (i+1)·chunkBytes)).
 * Pieces a reader waits for go first, in the order asked; the rest in file order. Kept in memory
 * only: after an MDS restart a load starts again from nothing (the file stays released until every
 * piece is synced, so nothing half loaded is ever taken for complete).
 */
export class LoadMap {
  readonly size: number;
  readonly chunkBytes: number;
  readonly pieces: number;
  readonly #loaded: Uint8Array;
  readonly #handed = new Map<number, number>();
  readonly #wanted: number[] = [];
  #waiters: RangeWaiter[] = [];
  #loadedCount = 0;
  #nextInOrder = 0;

  constructor(size: number, chunkBytes: number) {
    this.size = size;
    this.chunkBytes = chunkBytes;
    this.pieces = Math.ceil(size / chunkBytes);
    this.#loaded = new Uint8Array(this.pieces);
  }

  get complete(): boolean {
    return this.#loadedCount === this.pieces;
  }

  get loadedCount(): number {
    return this.#loadedCount;
  }

  /** The pieces [first, last] covering the bytes [offset, offset + length) within the file, or undefined for none. */
  #span(offset: number, length: number): [number, number] | undefined {
    const end = Math.min(offset + length, this.size);
    if (length <= 0 || offset >= end) return undefined;
    return [Math.floor(offset / this.chunkBytes), Math.floor((end - 1) / this.chunkBytes)];
  }

  #rangeLoaded(first: number, last: number): boolean {
    for (let i = first; i <= last; i++) if (!this.#loaded[i]) return false;
    return true;
  }

  /**
   * Whether every byte of [offset, offset + length) is loaded; if not, `ready` is called when it is
   * (its pieces go to the front of the queue).
   */
  wait(offset: number, length: number, ready: () => void): boolean {
    const span = this.#span(offset, length);
    if (!span || this.#rangeLoaded(...span)) return true;
    for (let i = span[0]; i <= span[1]; i++) if (!this.#loaded[i]) this.#wanted.push(i);
    this.#waiters.push({ first: span[0], last: span[1], resolve: ready });
    return false;
  }

  /** Drops a waiter that gave up. */
  forget(ready: () => void): void {
    this.#waiters = this.#waiters.filter((w) => w.resolve !== ready);
  }

  /** The next piece to load, or undefined when every piece is loaded or handed out (and not yet overdue). */
  next(now = Date.now()): number | undefined {
    const free = (i: number) => {
      if (this.#loaded[i]) return false;
      const since = this.#handed.get(i);
      return since === undefined || now - since >= PIECE_LEASE_MS;
    };
    let piece: number | undefined;
    while (this.#wanted.length > 0 && piece === undefined) {
      const i = this.#wanted.shift()!;
      if (free(i)) piece = i;
    }
    while (piece === undefined && this.#nextInOrder < this.pieces) {
      const i = this.#nextInOrder++;
      if (free(i)) piece = i;
    }
    if (piece === undefined)
      for (const [i, since] of this.#handed) if (now - since >= PIECE_LEASE_MS && !this.#loaded[i]) piece = i;
    if (piece !== undefined) this.#handed.set(piece, now);
    return piece;
  }

  /** Piece `i` is written to the OSTs: readers waiting only for loaded pieces go on. */
  loaded(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.pieces || this.#loaded[i]) return;
    this.#loaded[i] = 1;
    this.#loadedCount++;
    this.#handed.delete(i);
    const ready = this.#waiters.filter((w) => this.#rangeLoaded(w.first, w.last));
    this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  /** An agent (re)starts the load: pieces it was handed and never reported go out again. */
  resetHanded(): void {
    for (const i of this.#handed.keys()) this.#wanted.unshift(i);
    this.#handed.clear();
  }
}
