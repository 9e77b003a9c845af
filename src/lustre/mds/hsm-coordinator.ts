// The MDT's HSM coordinator: restore requests queued per file, handed to HSM agents that long-poll for work, waiters woken when a restore ends.
import { randomUUID } from 'node:crypto';
import { FsError } from '../../lib/errors.ts';
import type { RestoreRequest } from '../protocol/hsm-messages.ts';
import { HS_RELEASED, hsmGet, releaseDraining } from './hsm.ts';
import { LoadMap } from './hsm-load-map.ts';
import type { Mdt } from './mdt.ts';

export type { RestoreRequest } from '../protocol/hsm-messages.ts';

interface Pending {
  waiters: { resolve: () => void; reject: (err: Error) => void }[];
  /** The agent working on it, if handed out. */
  agent?: string;
  /** When it was handed out or last made progress (ms). */
  since?: number;
  /** Names this hand-out: calls of an agent whose restore was handed to another are refused. */
  token?: string;
  /** Which pieces are loaded, once the agent started. */
  map?: LoadMap;
  /** Ranges readers wait for before the agent started. */
  early: { offset: number; length: number; ready: () => void }[];
}

/** An agent that has not polled for this long no longer counts as one. */
const AGENT_TIMEOUT_MS = 10 * 60_000;
/** A restore whose agent made no progress for this long is handed out again (a restarted agent resumes it). */
const LOAD_LEASE_MS = 60_000;
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
    const entry = this.#ensure(ino);
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

  #ensure(ino: number): Pending {
    let p = this.#pending.get(ino);
    if (!p) {
      p = { waiters: [], early: [] };
      this.#pending.set(ino, p);
      this.#dispatch();
    }
    return p;
  }

  /** Whether a restore of `ino` is queued or running. */
  loading(ino: number): boolean {
    return this.#pending.has(ino);
  }

  /** Starts the restore of a released file without waiting for it. */
  start(ino: number): void {
    if (hsmGet(this.#mdt.store.db, ino).flags & HS_RELEASED) this.#ensure(ino);
  }

  /**
   * Resolves once the bytes [offset, offset + length) of `ino` can be read from the OSTs: true when
   * the whole file is (no longer released), false when only that range is loaded so far. EIO when
   * the agent failed, EINPROGRESS (ask again) after `timeoutMs`.
   */
  waitRange(
    ino: number,
    offset: number,
    length: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<boolean> {
    if (!(hsmGet(this.#mdt.store.db, ino).flags & HS_RELEASED)) return Promise.resolve(true);
    const p = this.#ensure(ino);
    return new Promise<boolean>((resolve, reject) => {
      const end = () => {
        clearTimeout(timer);
        p.waiters = p.waiters.filter((w) => w !== whole);
        p.early = p.early.filter((e) => e.ready !== ready);
        p.map?.forget(ready);
      };
      const ready = () => {
        end();
        resolve(false);
      };
      const whole = {
        resolve: () => {
          end();
          resolve(true);
        },
        reject: (err: Error) => {
          end();
          reject(err);
        },
      };
      const timer = setTimeout(
        () => whole.reject(new FsError('EINPROGRESS', `inode ${ino} is still being loaded from the archive`)),
        timeoutMs,
      );
      signal?.addEventListener('abort', () => whole.reject(new FsError('EINTR', 'interrupted')), {
        once: true,
      });
      p.waiters.push(whole);
      if (p.map) {
        if (p.map.wait(offset, length, ready)) ready();
      } else p.early.push({ offset, length, ready });
    });
  }

  /**
   * The agent holding `token` loaded the pieces `loaded` of `ino` (each `chunkBytes`, of a file of
   * `size` bytes) and asks for the next one: undefined when every piece is loaded or handed out.
   * ESTALE when the restore is not (or no longer) this agent's: it must stop.
   */
  loadNext(
    ino: number,
    token: string,
    size: number,
    chunkBytes: number,
    loaded: number[],
  ): number | undefined {
    const p = this.#pending.get(ino);
    if (!p || p.token !== token)
      throw new FsError('ESTALE', `the restore of inode ${ino} is no longer this agent's (handed out again)`);
    if (!p.map || p.map.chunkBytes !== chunkBytes || p.map.size !== size) {
      p.map = new LoadMap(size, chunkBytes);
      const early = p.early;
      p.early = [];
      for (const e of early) if (p.map.wait(e.offset, e.length, e.ready)) e.ready();
    }
    for (const i of loaded) p.map.loaded(i);
    p.since = Date.now();
    return p.map.next();
  }

  /** Whether `token` names the current hand-out of `ino`'s restore. */
  holds(ino: number, token: string): boolean {
    return this.#pending.get(ino)?.token === token;
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
          p.token = r.token;
          p.map?.resetHanded();
        }
        resolve(r);
        return true;
      };
      const timer = setTimeout(() => {
        forget();
        resolve(undefined);
      }, timeoutMs);
      timer.unref(); // a long poll does not keep a stopped server's process alive
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
      // Handed out to an agent still connected and making progress: its. A gone agent's load resumes with the next.
      if (p.agent && this.#mdt.clients.attached(p.agent) && now - (p.since ?? 0) < LOAD_LEASE_MS) continue;
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
      this.#pollers[0]!({ ino, location: state.location, archiveId: state.archiveId, token: randomUUID() });
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
