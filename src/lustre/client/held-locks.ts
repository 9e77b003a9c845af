// The flock and POSIX locks this client holds, kept to re-assert them to an MDS that restarted (lock replay).
import type { FileLock } from '../types.ts';

type Range = { type: 'read' | 'write'; start: number; end: number; pid: number };

/** What a client re-asserts after it (re)connects: its POSIX locks by owner and its flocks by MDS handle. */
export interface LockReplay {
  posix: { ino: number; owner: string; lock: FileLock }[];
  flocks: { ino: number; handle: number; type: 'read' | 'write' }[];
}

/**
 * Mirrors the MDS's lock table for this client's own locks: every grant, unlock and release the
 * MDS applied is applied here the same way (an owner's ranges never overlap: a new range replaces
 * what it covers). No conflicts are checked here: the MDS did that.
 */
export class HeldLocks {
  /** ino → owner → ranges. */
  readonly #posix = new Map<number, Map<string, Range[]>>();
  /** MDS handle → flock. */
  readonly #flocks = new Map<number, { ino: number; type: 'read' | 'write' }>();

  /** The MDS granted (or, with type unlock, applied) `lock` for `owner` on `ino`. */
  setlk(ino: number, owner: string, lock: FileLock): void {
    const owners = this.#posix.get(ino) ?? new Map<string, Range[]>();
    const next: Range[] = [];
    for (const r of owners.get(owner) ?? []) {
      if (r.end < lock.start || r.start > lock.end) next.push(r);
      else {
        if (r.start < lock.start) next.push({ ...r, end: lock.start - 1 });
        if (r.end > lock.end) next.push({ ...r, start: lock.end + 1 });
      }
    }
    if (lock.type !== 'unlock')
      next.push({ type: lock.type, start: lock.start, end: lock.end, pid: lock.pid });
    if (next.length > 0) owners.set(owner, next);
    else owners.delete(owner);
    if (owners.size > 0) this.#posix.set(ino, owners);
    else this.#posix.delete(ino);
  }

  /** close(2) dropped every POSIX lock of `owner` on `ino`. */
  unlockOwner(ino: number, owner: string): void {
    const owners = this.#posix.get(ino);
    owners?.delete(owner);
    if (owners?.size === 0) this.#posix.delete(ino);
  }

  /** The MDS applied flock `type` on the MDS handle `handle`. */
  flock(ino: number, handle: number, type: FileLock['type']): void {
    if (type === 'unlock') this.#flocks.delete(handle);
    else this.#flocks.set(handle, { ino, type });
  }

  /** A handle was released: its flock goes, and this client's POSIX locks on `ino` unless another handle is open there. */
  released(ino: number, handle: number, stillOpen: boolean): void {
    this.#flocks.delete(handle);
    if (!stillOpen) this.#posix.delete(ino);
  }

  /** Everything held, to re-assert. */
  replay(): LockReplay {
    const posix: LockReplay['posix'] = [];
    for (const [ino, owners] of this.#posix) {
      for (const [owner, ranges] of owners) for (const lock of ranges) posix.push({ ino, owner, lock });
    }
    const flocks = [...this.#flocks].map(([handle, f]) => ({ handle, ...f }));
    return { posix, flocks };
  }
}
