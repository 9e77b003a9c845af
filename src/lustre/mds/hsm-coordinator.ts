// The MDT's HSM coordinator: restore requests queued per file, handed to HSM agents that long-poll for work, waiters woken when a restore ends.
import { FsError } from '../../lib/errors.ts';
import type { RestoreRequest } from '../protocol/hsm-messages.ts';
import { HS_RELEASED, hsmGet, releaseDraining } from './hsm.ts';
import type { Mdt } from './mdt.ts';

export type { RestoreRequest } from '../protocol/hsm-messages.ts';

interface Pending {
  waiters: { resolve: () => void; reject: (err: Error) => void }[];
  /** The agent working on it, if handed out. */
  agent?: string;
  /** When it was handed out (ms). */
  since?: number;
}

/** A restore handed to an agent that does not report within this time is handed out again. */
const AGENT_TIMEOUT_MS = 10 * 60_000;
/** How often queued work whose release is still draining is looked at again. */
const DRAIN_POLL_MS = 100;

/**
 * One coordinator per MDT. A restore of a file is queued once however many openers wait for it;
 * agents take work with `poll` (resolving at once or when work arrives, or empty at its deadline)
 * and end it with `done`. A file whose release is still destroying its objects is not handed out
 * until that finished, so a restore never races the destroy of the objects it refills.
 */
export class HsmCoordinator {
  readonly #mdt: Mdt;
  readonly #pending = new Map<number, Pending>();
  readonly #pollers: ((r: RestoreRequest) => boolean)[] = [];
  readonly #agents = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(mdt: Mdt) {
    this.#mdt = mdt;
  }

  /** Whether `client` has polled for work in the last ten minutes (its I/O does not wait for restores or dirty files). */
  isAgent(client: string): boolean {
    const seen = this.#agents.get(client);
    return seen !== undefined && Date.now() - seen < AGENT_TIMEOUT_MS;
  }

  /** Resolves once `ino` is not released; EIO when the agent failed, EINPROGRESS (ask again) after `timeoutMs`. */
  async restore(ino: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (!(hsmGet(this.#mdt.store.db, ino).flags & HS_RELEASED)) return;
    let p = this.#pending.get(ino);
    if (!p) {
      p = { waiters: [] };
      this.#pending.set(ino, p);
      this.#dispatch();
    }
    const entry = p;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        entry.waiters = entry.waiters.filter((w) => w !== waiter);
        reject(new FsError('EINPROGRESS', `the restore of inode ${ino} from the archive is still running`));
      }, timeoutMs);
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      entry.waiters.push(waiter);
      signal?.addEventListener('abort', () => waiter.reject(new FsError('EINTR', 'interrupted')), {
        once: true,
      });
    });
  }

  /** Next restore for `agent`, or undefined after `timeoutMs`. */
  poll(agent: string, timeoutMs: number, signal?: AbortSignal): Promise<RestoreRequest | undefined> {
    this.#agents.set(agent, Date.now());
    return new Promise((resolve) => {
      const forget = () => {
        clearTimeout(timer);
        const i = this.#pollers.indexOf(poller);
        if (i >= 0) this.#pollers.splice(i, 1);
      };
      const poller = (r: RestoreRequest): boolean => {
        forget();
        const p = this.#pending.get(r.ino);
        if (p) {
          p.agent = agent;
          p.since = Date.now();
        }
        resolve(r);
        return true;
      };
      const timer = setTimeout(() => {
        forget();
        resolve(undefined);
      }, timeoutMs);
      signal?.addEventListener(
        'abort',
        () => {
          forget();
          resolve(undefined);
        },
        { once: true },
      );
      this.#pollers.push(poller);
      this.#dispatch();
    });
  }

  /** The agent finished `ino` (the caller already cleared RELEASED on success). Wakes its waiters. */
  done(ino: number, error: string | undefined): void {
    const p = this.#pending.get(ino);
    if (!p) return;
    this.#pending.delete(ino);
    for (const w of p.waiters)
      if (error) w.reject(new FsError('EIO', `restore from the archive failed: ${error}`));
      else w.resolve();
  }

  #dispatch(): void {
    const now = Date.now();
    let waiting = false;
    for (const [ino, p] of this.#pending) {
      if (p.agent && now - (p.since ?? 0) < AGENT_TIMEOUT_MS) continue;
      if (this.#pollers.length === 0) return;
      if (releaseDraining(this.#mdt.ns, ino)) {
        waiting = true;
        this.#mdt.destroyer.wake();
        continue;
      }
      const state = hsmGet(this.#mdt.store.db, ino);
      if (!(state.flags & HS_RELEASED)) {
        this.done(ino, undefined);
        continue;
      }
      this.#pollers[0]!({ ino, location: state.location, archiveId: state.archiveId });
    }
    if (waiting && !this.#timer)
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#dispatch();
      }, DRAIN_POLL_MS);
  }
}

const coordinators = new WeakMap<Mdt, HsmCoordinator>();

export function coordinatorOf(mdt: Mdt): HsmCoordinator {
  let c = coordinators.get(mdt);
  if (!c) {
    c = new HsmCoordinator(mdt);
    coordinators.set(mdt, c);
  }
  return c;
}
