// One MDT: its store, namespace, locks, clients and destroy log, with reply reconstruction and invalidation pushes around every mutation.
import { FsError } from '../../lib/errors.ts';
import { type Logger, logger } from '../../lib/log.ts';
import type { ServerSession } from '../protocol/rpc-server.ts';
import { type Credentials, ROOT_INO } from '../types.ts';
import { ClientRegistry } from './clients.ts';
import { GroupCommit } from './commit.ts';
import { DestroyQueue } from './destroy-queue.ts';
import { type Glimpse, growTo, unreportedSizes } from './evict-glimpse.ts';
import { hsmGet } from './hsm.ts';
import { Effects, type OpContext } from './inodes.ts';
import { DEFAULT_POLICY, LayoutAllocator } from './layout.ts';
import { LockTable } from './locks.ts';
import type { Caller, MdtOptions } from './mdt-options.ts';
import { MountReplies } from './mount-replies.ts';
import { Namespace } from './namespace.ts';
import { OstDirectory } from './ost-directory.ts';
import { RecoveryWindow } from './recovery-window.ts';
import type { ReplyKey } from './request-key.ts';
import { ResyncQueue } from './resync-queue.ts';
import { type Outcome, underSavepoint } from './savepoint.ts';
import {
  CUT_RETRY_MS,
  finishPendingCut,
  type SettleDeps,
  type Settled,
  settleReport,
} from './size-settle.ts';
import { MdtSnapshots } from './snapshots.ts';
import { markStale, staleRecords } from './stale.ts';
import { Store } from './store.ts';

export type { Caller, MdtOptions } from './mdt-options.ts';

/** Credentials of operations that check no permissions (release, extendSize). */
const NOBODY: Credentials = { uid: 65534, gid: 65534, groups: [] };

/** How many times an eviction reads its files' sizes from the OSTs before it gives up on those that fail. */
const EVICT_GLIMPSE_TRIES = 5;

/**
 * The metadata target of one file system. `mutate` is the only way to change the namespace: it
 * runs the operation in the group-commit transaction together with its reply-cache entry, answers
 * a repeated (client, xid) from that cache, and only after commit pushes invalidations and wakes
 * the destroy log. `read` answers once every earlier mutation is durable.
 */
export class Mdt {
  readonly fsname: string;
  readonly graceMs: number;
  readonly lockGraceMs: number;
  readonly store: Store;
  readonly ns: Namespace;
  readonly locks: LockTable;
  readonly commit: GroupCommit;
  readonly clients: ClientRegistry;
  readonly osts: OstDirectory;
  readonly destroyer: DestroyQueue;
  readonly resyncer: ResyncQueue;
  readonly snapshots: MdtSnapshots;
  readonly mountReplies: MountReplies;
  readonly #log: Logger;
  readonly #glimpse: Glimpse | undefined;
  readonly #settle: SettleDeps;
  readonly #replyCacheSize: number;
  readonly #replySeq = new Map<string, number>();
  readonly #evictRetries = new Map<string, NodeJS.Timeout>();
  #closed = false;
  #reaper: NodeJS.Timeout | undefined;
  #recovery = RecoveryWindow.closed();

  /** The flock/POSIX lock recovery window after a restart (closed when there was nobody to wait for). */
  get recovery(): RecoveryWindow {
    return this.#recovery;
  }

  constructor(o: MdtOptions) {
    this.fsname = o.fsname;
    this.graceMs = o.graceMs ?? 30_000;
    this.lockGraceMs = Math.min(o.lockGraceMs ?? 5_000, this.graceMs);
    this.#glimpse = o.glimpse;
    this.#log = logger('mds', { fsname: o.fsname });
    this.#replyCacheSize = o.replyCacheSize ?? 1024;
    const clock = o.clock ?? Date.now;
    this.store = new Store(o.path, { synchronous: o.synchronous ?? 'NORMAL', now: clock() });
    // The HSM table is made now, outside any operation: made inside one that rolls back, it would vanish.
    hsmGet(this.store.db, ROOT_INO);
    this.commit = new GroupCommit(this.store.db, { grouped: o.groupCommit ?? true });
    const replies = { db: this.store.db, commit: this.commit, clock, log: this.#log, seqs: this.#replySeq };
    this.mountReplies = new MountReplies(replies, o.mountReplies);
    // Locks live in memory only: after a restart, clients re-assert theirs (lock-replay.ts).
    this.locks = new LockTable();
    this.osts = new OstDirectory(o.osts, this.#log);
    this.snapshots = new MdtSnapshots({
      store: this.store,
      path: o.path,
      commit: this.commit,
      osts: o.ostSnapshots,
      log: this.#log,
    });
    this.#settle = {
      db: this.store.db,
      layoutOf: (ino) => {
        const row = this.store.getInode(ino);
        return row ? this.ns.layoutOf(row) : null;
      },
      apply: (fn) => this.commit.apply(fn),
      glimpse: o.glimpse,
      punch: o.punchObjects,
      onStale: (ino) => {
        const fx = new Effects();
        fx.inode(ino, true);
        this.#afterCommit(fx, undefined);
        this.resyncer.wake();
      },
      log: this.#log,
    };
    this.ns = new Namespace({
      store: this.store,
      clock,
      layouts: new LayoutAllocator(o.replicas ?? 1),
      defaultPolicy: o.defaultLayout ?? DEFAULT_POLICY,
      osts: () => this.osts.current(),
      unlinkLingerMs: o.unlinkLingerMs ?? 5_000,
    });
    const linger = this.ns.unlinkLingerMs;
    if (linger > 0) {
      this.#reaper = setInterval(() => void this.#reapLingering(clock() - linger), Math.max(100, linger / 2));
      this.#reaper.unref();
    }
    this.destroyer = new DestroyQueue({
      store: this.store,
      commit: this.commit,
      osts: this.osts,
      destroy: o.destroyObjects,
      log: this.#log,
    });
    this.resyncer = new ResyncQueue({
      store: this.store,
      commit: this.commit,
      osts: this.osts,
      resync:
        o.resyncObject ??
        (() => Promise.reject(new FsError('EOPNOTSUPP', 'this MDS cannot resync stale copies'))),
      layoutOf: (ino) => {
        const row = this.store.getInode(ino);
        return row ? this.ns.layoutOf(row) : undefined;
      },
      onCleared: (ino) => {
        const fx = new Effects();
        fx.inode(ino, true);
        this.#afterCommit(fx, undefined);
      },
      log: this.#log,
      ...(o.resyncSettleMs !== undefined && { settleMs: o.resyncSettleMs }),
    });
    this.clients = new ClientRegistry({
      graceMs: this.graceMs,
      lockGraceMs: this.lockGraceMs,
      onLocksExpired: (c) => this.locks.dropClient(c),
      onEvict: (c) => void this.evict(c),
    });
    this.osts.start(o.ostRefreshMs ?? 10_000);
  }

  /** Opens the MDT: loads the OST list, forgets crash leftovers, waits for old clients, drains the destroy log. */
  static async open(o: MdtOptions): Promise<Mdt> {
    const mdt = new Mdt(o);
    await mdt.osts.refresh();
    await mdt.commit.apply(() => {
      const fx = new Effects();
      for (const ino of mdt.store.orphans()) {
        if (mdt.store.openCount(ino) > 0) continue;
        const row = mdt.store.getInode(ino);
        if (row) mdt.ns.destroy(row, fx);
        else mdt.store.removeOrphan(ino);
      }
    });
    const known = mdt.store.clients();
    mdt.#recovery = new RecoveryWindow({
      expected: known,
      durationMs: mdt.lockGraceMs,
      what: 'flock/POSIX locks',
      log: mdt.#log,
    });
    mdt.clients.awaitReconnect(known);
    mdt.destroyer.wake();
    mdt.resyncer.wake();
    return mdt;
  }

  /** Attaches a session as `client` and remembers the client (so a restart waits for it). */
  async connect(session: ServerSession, client: string, host: string) {
    this.clients.attach(client, host, session);
    session.onClose(() => this.clients.detach(client, session));
    await this.commit.apply(() => this.store.upsertClient(client, host, Date.now()));
    return { rootIno: ROOT_INO, fsname: this.fsname, graceMs: this.graceMs, lockGraceMs: this.lockGraceMs };
  }

  /**
   * Runs `fn` as one mutation. With an xid, a (client, xid) seen before returns the stored reply
   * (result or errno) without running again; otherwise the reply is stored in the same transaction.
   * A ReplyKey in place of the xid keys the reply by it instead (a request a kernel may resend);
   * `replayed`, when given, turns a stored result into this caller's, stored in its place (in the
   * same transaction), as a resent create's handle for the new client.
   */
  mutate<T>(
    caller: Caller,
    xid: number | ReplyKey | undefined,
    cred: Credentials | undefined,
    fn: (op: OpContext) => T,
    replayed?: (first: T, op: OpContext) => T,
  ): Promise<T> {
    const op: OpContext = {
      cred: cred ?? NOBODY,
      client: caller.client,
      host: caller.host,
      fx: new Effects(),
    };
    const key = typeof xid === 'number' ? { client: caller.client, xid } : xid;
    const apply = () =>
      this.commit.apply((): Outcome<T> => {
        const cached = key === undefined ? undefined : this.store.getReply(key.client, key.xid);
        if (key !== undefined && cached !== undefined) {
          const first = JSON.parse(cached) as Outcome<T>;
          if (!replayed || !('r' in first)) return first;
          const again = underSavepoint(this.store.db, op, () => replayed(first.r, op));
          if ('r' in again) this.#remember(key.client, key.xid, again);
          return again;
        }
        const out = underSavepoint(this.store.db, op, () => fn(op));
        if (key !== undefined) this.#remember(key.client, key.xid, out);
        return out;
      });
    // A snapshot's barrier holds new mutations until the snapshot is taken.
    const run = this.snapshots.holding ? this.snapshots.barrier().then(apply) : apply();
    return run.then((out) => {
      if ('e' in out) throw new FsError(out.e as FsError['code'], out.msg);
      this.#afterCommit(op.fx, caller.session);
      return out.r;
    });
  }

  /**
   * Records that `ost`'s copy of a stripe missed a write (idempotent; each call bumps the record's
   * generation), durable before it resolves; other clients are told to refetch the layout.
   */
  async markStale(caller: Caller, ino: number, stripe: number, ost: number): Promise<null> {
    const done = await this.mutate(caller, undefined, undefined, (op) => {
      const row = this.ns.inode(ino);
      markStale(this.store.db, this.ns.layoutOf(row), { ino, stripe, ost, since: Date.now() });
      op.fx.inode(ino);
      return null;
    });
    this.resyncer.wake();
    return done;
  }

  /** Whether `client`'s size report on `ino` can be taken as it is, else the size the objects give (see size-settle.ts). */
  settleReport(ino: number, client: string): Promise<Settled> {
    return settleReport(this.#settle, ino, client);
  }

  /**
   * Before a change that lets `ino` grow from its MDS size (O_APPEND reservation, truncate, a PW
   * grant) or an open: a punch still pending is finished first, else the growth would show the old
   * bytes. EIO (logged) if it cannot be within CUT_RETRY_MS.
   */
  async finishPendingPunch(ino: number): Promise<void> {
    try {
      await finishPendingCut(this.#settle, ino);
    } catch (err) {
      const why = `an earlier truncate of inode ${ino} is not finished on its OSTs (tried for ${CUT_RETRY_MS / 1000} s): ${String(err)}`;
      this.#log.warn(
        'cannot finish a truncate: opens, writes and truncates of the file fail with EIO until its OSTs answer',
        { ino, error: String(err) },
      );
      throw new FsError('EIO', why, { cause: err });
    }
  }

  /** Stale copies recorded and not yet resynced. */
  staleCount(): number {
    return staleRecords(this.store.db).length;
  }

  /** Runs a read now; answers after every mutation applied so far is durable. */
  async read<T>(fn: () => T): Promise<T> {
    const value = fn();
    await this.commit.settled();
    return value;
  }

  /**
   * Releases every handle of a client that did not come back, and forgets it. While the size of a
   * file it had open for writing cannot be read from the OSTs, the eviction waits and tries again
   * (every grace period, EVICT_GLIMPSE_TRIES times in all), as closing the handle would lose it.
   */
  async evict(client: string, attempt = 1): Promise<void> {
    this.#evictRetries.delete(client);
    if (this.clients.attached(client)) return;
    this.#recovery.gone(client);
    this.locks.dropClient(client);
    const fx = new Effects();
    try {
      const glimpse = this.#glimpse;
      const { sizes, failed, epochs } = glimpse
        ? await unreportedSizes(
            { store: this.store, ns: this.ns, db: this.store.db, glimpse, log: this.#log },
            client,
          )
        : { sizes: new Map<number, number>(), failed: 0, epochs: new Map<number, number>() };
      if (failed > 0 && attempt < EVICT_GLIMPSE_TRIES && !this.#closed) {
        this.#log.warn('eviction postponed: sizes of its files cannot be read from the OSTs', {
          client,
          files: failed,
          retryInMs: this.graceMs,
        });
        const timer = setTimeout(() => void this.evict(client, attempt + 1), this.graceMs);
        timer.unref();
        this.#evictRetries.set(client, timer);
        return;
      }
      const n = await this.commit.apply(() => {
        // A reconnect during the glimpse wins: the client reports its own sizes and keeps its handles.
        if (this.clients.attached(client)) return -1;
        growTo(this.ns, this.store, fx, sizes, epochs);
        const handles = this.store.handlesOf(client);
        for (const h of handles) this.ns.closeHandle(h.handle, fx);
        this.store.deleteClient(client);
        return handles.length;
      });
      if (n < 0) {
        this.#log.info('client reconnected during its eviction: eviction abandoned', { client });
        return;
      }
      this.#replySeq.delete(client);
      this.#afterCommit(fx, undefined);
      this.#log.info('evicted client', { client, handles: n });
    } catch (err) {
      this.#log.error('evicting a client failed', { client, error: String(err) });
    }
  }

  /** Destroys the orphans nobody has open whose last name went before `before` (see unlinkLingerMs). */
  async #reapLingering(before: number): Promise<void> {
    const fx = new Effects();
    try {
      await this.commit.apply(() => {
        const old = this.store.db.prepare('SELECT ino FROM orphans WHERE since <= ?').all(before);
        for (const { ino } of old as { ino: number }[]) {
          if (this.store.openCount(ino) > 0) continue;
          const row = this.store.getInode(ino);
          if (row) this.ns.destroy(row, fx);
          else this.store.removeOrphan(ino);
        }
      });
      this.#afterCommit(fx, undefined);
    } catch (err) {
      this.#log.warn('destroying unlinked files failed; trying again later', { error: String(err) });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#recovery.close();
    for (const t of this.#evictRetries.values()) clearTimeout(t);
    this.#evictRetries.clear();
    clearInterval(this.#reaper);
    this.mountReplies.close();
    this.clients.close();
    this.osts.stop();
    await this.destroyer.stop();
    await this.resyncer.stop();
    this.commit.close();
    this.store.close();
  }

  #remember(client: string, xid: number, out: unknown): void {
    const seq = (this.#replySeq.get(client) ?? this.store.maxReplySeq(client)) + 1;
    this.#replySeq.set(client, seq);
    this.store.putReply(client, xid, seq, JSON.stringify(out));
    this.mountReplies.written(client);
    if (seq % 64 === 0) this.store.trimReplies(client, seq - this.#replyCacheSize);
  }

  #afterCommit(fx: Effects, origin: ServerSession | undefined): void {
    const seen = new Set<string>();
    for (const { event, toAll } of fx.events) {
      const key = JSON.stringify(event);
      if (seen.has(key)) continue;
      seen.add(key);
      for (const s of this.clients.sessions()) if (toAll || s !== origin) s.push('invalidate', event);
    }
    if (fx.destroyQueued) this.destroyer.wake();
    for (const r of fx.released) {
      this.locks.handleReleased(r.ino, r.handle, r.client, this.store.openCount(r.ino, r.client) > 0);
    }
  }
}
