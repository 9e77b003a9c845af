// In-memory lock tables of one MDT: POSIX byte-range locks per owner and flock locks per open handle.
import { FsError } from '../../lib/errors.ts';
import type { FileLock } from '../types.ts';

interface RangeLock {
  owner: string;
  client: string;
  type: 'read' | 'write';
  start: number;
  end: number;
  pid: number;
}

interface Flock {
  type: 'read' | 'write';
  client: string;
}

/** One inode's locks as the journal keeps them. */
export interface LockState {
  ranges: RangeLock[];
  flocks: [number, Flock][];
}

function conflicts(a: 'read' | 'write', b: 'read' | 'write'): boolean {
  return a === 'write' || b === 'write';
}

/**
 * Locks live in memory; with `persist`, every change of an inode's locks is handed to it (the
 * MDT writes it to its database) and `restore` loads them back after a restart. All calls are non-blocking:
 * a conflicting request fails with EAGAIN and the client retries for F_SETLKW / blocking flock.
 * POSIX locks of one owner never overlap each other: a new lock splits or replaces the owner's
 * existing ranges and merges with adjacent ones of the same type.
 */
export class LockTable {
  readonly #ranges = new Map<number, RangeLock[]>();
  readonly #flocks = new Map<number, Map<number, Flock>>();
  readonly #persist: ((ino: number, state: LockState | undefined) => void) | undefined;

  constructor(persist?: (ino: number, state: LockState | undefined) => void) {
    this.#persist = persist;
  }

  /** Loads the locks a journal kept (before serving). */
  restore(states: Map<number, LockState>): void {
    for (const [ino, s] of states) {
      if (s.ranges.length > 0) this.#ranges.set(ino, s.ranges);
      if (s.flocks.length > 0) this.#flocks.set(ino, new Map(s.flocks));
    }
  }

  #changed(ino: number): void {
    if (!this.#persist) return;
    const ranges = this.#ranges.get(ino) ?? [];
    const flocks = [...(this.#flocks.get(ino) ?? new Map<number, Flock>())];
    this.#persist(ino, ranges.length + flocks.length > 0 ? { ranges, flocks } : undefined);
  }

  /** F_GETLK: the first lock of another owner that conflicts with `lock`, or `lock` with type 'unlock'. */
  getlk(ino: number, owner: string, lock: FileLock): FileLock {
    checkRange(lock);
    if (lock.type === 'unlock') throw new FsError('EINVAL', 'F_GETLK of an unlock');
    const want = lock.type;
    for (const l of this.#ranges.get(ino) ?? []) {
      if (l.owner !== owner && overlaps(l, lock) && conflicts(l.type, want)) {
        return { type: l.type, start: l.start, end: l.end, pid: l.pid };
      }
    }
    return { ...lock, type: 'unlock' };
  }

  /** F_SETLK: takes, changes or (type 'unlock') releases `owner`'s lock on a range. EAGAIN on conflict. */
  setlk(ino: number, owner: string, client: string, lock: FileLock): void {
    checkRange(lock);
    const list = this.#ranges.get(ino) ?? [];
    if (lock.type !== 'unlock') {
      const want = lock.type;
      if (list.some((l) => l.owner !== owner && overlaps(l, lock) && conflicts(l.type, want))) {
        throw new FsError('EAGAIN', 'conflicting lock');
      }
    }
    const next: RangeLock[] = [];
    for (const l of list) {
      if (l.owner !== owner || !overlaps(l, lock)) next.push(l);
      else {
        if (l.start < lock.start) next.push({ ...l, end: lock.start - 1 });
        if (l.end > lock.end) next.push({ ...l, start: lock.end + 1 });
      }
    }
    if (lock.type !== 'unlock') {
      let merged: RangeLock = {
        owner,
        client,
        type: lock.type,
        start: lock.start,
        end: lock.end,
        pid: lock.pid,
      };
      const rest: RangeLock[] = [];
      for (const l of next) {
        const adjacent = l.end + 1 === merged.start || merged.end + 1 === l.start;
        if (l.owner === owner && l.type === merged.type && adjacent) {
          merged = { ...merged, start: Math.min(l.start, merged.start), end: Math.max(l.end, merged.end) };
        } else rest.push(l);
      }
      rest.push(merged);
      this.#setRanges(ino, rest);
    } else this.#setRanges(ino, next);
  }

  /** Drops every POSIX lock `owner` holds on `ino`. */
  unlockOwner(ino: number, owner: string): void {
    this.#setRanges(
      ino,
      (this.#ranges.get(ino) ?? []).filter((l) => l.owner !== owner),
    );
  }

  /** flock(2) by open handle: shared or exclusive, converted in place; EAGAIN on conflict (the held lock stays). */
  flock(ino: number, handle: number, client: string, type: FileLock['type']): void {
    const held = this.#flocks.get(ino) ?? new Map<number, Flock>();
    if (type === 'unlock') held.delete(handle);
    else {
      for (const [h, l] of held) {
        if (h !== handle && conflicts(l.type, type)) throw new FsError('EAGAIN', 'conflicting flock');
      }
      held.set(handle, { type, client });
    }
    if (held.size > 0) this.#flocks.set(ino, held);
    else this.#flocks.delete(ino);
    this.#changed(ino);
  }

  /** A handle was released: its flock goes; so do the client's POSIX locks on `ino` if it has no other handle there. */
  handleReleased(ino: number, handle: number, client: string, clientStillOpen: boolean): void {
    this.flock(ino, handle, client, 'unlock');
    if (!clientStillOpen) {
      this.#setRanges(
        ino,
        (this.#ranges.get(ino) ?? []).filter((l) => l.client !== client),
      );
    }
  }

  /** Drops every lock a client holds (its session ended). */
  dropClient(client: string): void {
    for (const [ino, list] of [...this.#ranges])
      this.#setRanges(
        ino,
        list.filter((l) => l.client !== client),
      );
    for (const [ino, held] of [...this.#flocks]) {
      for (const [h, l] of [...held]) if (l.client === client) held.delete(h);
      if (held.size === 0) this.#flocks.delete(ino);
      this.#changed(ino);
    }
  }

  /** Number of locks held (for tests and metrics). */
  count(): number {
    let n = 0;
    for (const list of this.#ranges.values()) n += list.length;
    for (const held of this.#flocks.values()) n += held.size;
    return n;
  }

  #setRanges(ino: number, list: RangeLock[]): void {
    const had = this.#ranges.has(ino);
    if (list.length > 0) this.#ranges.set(ino, list);
    else this.#ranges.delete(ino);
    if (had || list.length > 0) this.#changed(ino);
  }
}

function overlaps(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  return a.start <= b.end && b.start <= a.end;
}

function checkRange(lock: FileLock): void {
  if (
    !Number.isSafeInteger(lock.start) ||
    !Number.isSafeInteger(lock.end) ||
    lock.start < 0 ||
    lock.end < lock.start
  ) {
    throw new FsError('EINVAL', 'bad lock range');
  }
}
