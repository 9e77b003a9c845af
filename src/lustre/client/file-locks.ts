// This client's flock and POSIX locks: taken at the MDS, remembered for lock replay, dropped at close(2) and release.
import type { FileLock } from '../types.ts';
import { HeldLocks, type LockReplay } from './held-locks.ts';
import { waitForLock } from './lock-wait.ts';
import type { MdsSession } from './mds-session.ts';

/**
 * The MDS keeps the lock table; this keeps the client's own part of it (HeldLocks) to re-assert
 * after a reconnect, and which inodes were ever POSIX-locked here (only their close(2) costs an
 * MDS round trip). Owners are the kernel's lock owners, made unique on the MDS by the client id.
 */
export class FileLocks {
  readonly #mds: MdsSession;
  readonly #clientId: string;
  /** Inodes this client has taken POSIX locks on: only their close(2) must drop locks at the MDS. */
  readonly #lockedInodes = new Set<number>();
  /** This client's flock/POSIX locks, re-asserted after every MDS connect. */
  readonly #held = new HeldLocks();

  constructor(mds: MdsSession, clientId: string) {
    this.#mds = mds;
    this.#clientId = clientId;
  }

  getlk(ino: number, owner: bigint, lock: FileLock, signal?: AbortSignal): Promise<FileLock> {
    return this.#mds.call('getlk', { ino, owner: this.#owner(owner), lock }, signal);
  }

  async setlk(ino: number, owner: bigint, lock: FileLock, wait: boolean, signal?: AbortSignal) {
    if (lock.type !== 'unlock') this.#lockedInodes.add(ino);
    const args = { ino, owner: this.#owner(owner), lock };
    await waitForLock(() => this.#mds.call('setlk', args, signal), wait, signal);
    this.#held.setlk(args.ino, args.owner, lock);
  }

  /** flock on the MDS handle `handle` of `ino`. */
  async flock(ino: number, handle: number, type: FileLock['type'], wait: boolean, signal?: AbortSignal) {
    const args = { ino, handle, type };
    await waitForLock(() => this.#mds.call('flock', args, signal), wait, signal);
    this.#held.flock(args.ino, args.handle, type);
  }

  /** close(2) drops the owner's POSIX locks; no MDS round trip for inodes never locked here. */
  async unlockOwner(ino: number, owner: bigint, signal?: AbortSignal): Promise<void> {
    if (!this.#lockedInodes.has(ino)) return;
    await this.#mds.call('unlockOwner', { ino, owner: this.#owner(owner) }, signal);
    this.#held.unlockOwner(ino, this.#owner(owner));
  }

  /** A handle was released (see HeldLocks.released). */
  released(ino: number, handle: number, stillOpen: boolean): void {
    this.#held.released(ino, handle, stillOpen);
  }

  /** The locks this client holds, as it re-asserts them after connecting (lock replay). */
  replay(): LockReplay {
    return this.#held.replay();
  }

  #owner(owner: bigint): string {
    return `${this.#clientId}:${owner}`;
  }
}
