// In-memory POSIX (fcntl) and flock lock tables for the memory FileSystemClient used by the FUSE tests.
import { FsError } from '../../src/lib/errors.ts';
import type { FileLock } from '../../src/lustre/types.ts';

interface PosixLock {
  owner: bigint;
  type: 'read' | 'write';
  start: number;
  end: number;
  pid: number;
}

function overlaps(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  return a.start <= b.end && b.start <= a.end;
}

/** Byte-range locks per inode keyed by lock owner, and flock locks per inode keyed by open file (fh). */
export class LockTable {
  private readonly posix = new Map<number, PosixLock[]>();
  private readonly flocks = new Map<number, Map<number, 'read' | 'write'>>();
  private waiters = new Set<() => void>();

  /** The first lock of another owner that conflicts with `lock`, if any. */
  conflict(ino: number, owner: bigint, lock: FileLock): FileLock | undefined {
    if (lock.type === 'unlock') return undefined;
    const found = (this.posix.get(ino) ?? []).find(
      (l) => l.owner !== owner && overlaps(l, lock) && (l.type === 'write' || lock.type === 'write'),
    );
    return found && { type: found.type, start: found.start, end: found.end, pid: found.pid };
  }

  async setlk(
    ino: number,
    owner: bigint,
    lock: FileLock,
    wait: boolean,
    signal?: AbortSignal,
  ): Promise<void> {
    while (this.conflict(ino, owner, lock)) {
      if (!wait) throw new FsError('EAGAIN');
      await this.waitForChange(signal);
    }
    const kept: PosixLock[] = [];
    for (const l of this.posix.get(ino) ?? []) {
      if (l.owner !== owner || !overlaps(l, lock)) kept.push(l);
      else {
        if (l.start < lock.start) kept.push({ ...l, end: lock.start - 1 });
        if (l.end > lock.end) kept.push({ ...l, start: lock.end + 1 });
      }
    }
    if (lock.type !== 'unlock')
      kept.push({ owner, type: lock.type, start: lock.start, end: lock.end, pid: lock.pid });
    this.posix.set(ino, kept);
    this.changed();
  }

  /** Drops every POSIX lock `owner` holds on `ino` (close(2) of any descriptor of the file). */
  releaseOwner(ino: number, owner: bigint): void {
    const locks = this.posix.get(ino);
    if (!locks?.some((l) => l.owner === owner)) return;
    this.posix.set(
      ino,
      locks.filter((l) => l.owner !== owner),
    );
    this.changed();
  }

  async flock(ino: number, fh: number, type: FileLock['type'], wait: boolean, signal?: AbortSignal) {
    const holders = this.flocks.get(ino) ?? new Map<number, 'read' | 'write'>();
    this.flocks.set(ino, holders);
    if (type === 'unlock') {
      if (holders.delete(fh)) this.changed();
      return;
    }
    const blocked = () => [...holders].some(([h, t]) => h !== fh && (t === 'write' || type === 'write'));
    while (blocked()) {
      if (!wait) throw new FsError('EAGAIN');
      await this.waitForChange(signal);
    }
    holders.set(fh, type);
  }

  /** The open file `fh` of `ino` went away: its flock goes with it. */
  releaseFlock(ino: number, fh: number): void {
    if (this.flocks.get(ino)?.delete(fh)) this.changed();
  }

  private changed(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  private waitForChange(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new FsError('EINTR'));
      const onAbort = () => {
        this.waiters.delete(wake);
        reject(new FsError('EINTR'));
      };
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
