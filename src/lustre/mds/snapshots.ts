// Point-in-time snapshots of a file system: a brief barrier (no metadata change, no OST write) in which the MDT is copied and every OST starts copy-on-write.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { FsError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { type Attr, type Layout, ROOT_CREDENTIALS, ROOT_INO, S_IFDIR, S_IFLNK, S_IFMT } from '../types.ts';
import type { GroupCommit } from './commit.ts';
import { DEFAULT_POLICY, LayoutAllocator } from './layout.ts';
import { Namespace } from './namespace.ts';
import { withSizeOnOsts } from './size-on-osts.ts';
import { Store } from './store.ts';
import { getxattr, listxattr } from './xattrs.ts';

/** One entry of a snapshot's tree, parents before children. */
export interface SnapshotEntry {
  /** "" for the root, "a/b" below it. */
  path: string;
  /** `sizeOnOsts`: a writer had the file open at the snapshot: its size is the larger of this and its objects'. */
  attr: Attr;
  layout?: Layout;
  target?: string;
  /** Values base64. */
  xattrs?: Record<string, string>;
}

/** The OST side of a snapshot: freeze every OST, start copy-on-write on each, or forget it. */
export interface OstSnapshotOps {
  freeze(id: string, leaseMs: number, signal: AbortSignal): Promise<void>;
  activate(id: string, signal: AbortSignal): Promise<void>;
  drop(id: string, signal: AbortSignal): Promise<void>;
}

/** Longest an OST stays frozen if the MDS never completes the barrier (it then resumes by itself). */
const BARRIER_LEASE_MS = 10_000;
const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/**
 * Snapshots of one MDT. `create` holds new mutations (they wait, they do not fail), waits for those
 * committing, freezes every OST (no object write runs or starts), copies the database (VACUUM INTO),
 * starts copy-on-write on every OST and lets everything go on: the snapshot is the file system at
 * one instant, metadata and data. Readers of a snapshot list its tree (`list`) and read its objects
 * from the OSTs by its id.
 */
export class MdtSnapshots {
  readonly #db: Store['db'];
  readonly #path: string;
  readonly #commit: GroupCommit;
  readonly #osts: OstSnapshotOps | undefined;
  readonly #log: Logger;
  readonly #trees = new Map<string, SnapshotEntry[]>();
  #barrier: PromiseWithResolvers<void> | undefined;

  constructor(o: {
    store: Store;
    path: string;
    commit: GroupCommit;
    osts: OstSnapshotOps | undefined;
    log: Logger;
  }) {
    this.#db = o.store.db;
    this.#path = o.path;
    this.#commit = o.commit;
    this.#osts = o.osts;
    this.#log = o.log;
  }

  /** Whether a barrier holds mutations now. */
  get holding(): boolean {
    return this.#barrier !== undefined;
  }

  /** Resolves when no barrier holds mutations (at once when none does). */
  async barrier(): Promise<void> {
    while (this.#barrier) await this.#barrier.promise;
  }

  #file(id: string): string {
    if (!ID.test(id)) throw new FsError('EINVAL', 'a snapshot id is 1-128 of A-Z a-z 0-9 _ -');
    return `${this.#path}.snapshot-${id}`;
  }

  /** Takes snapshot `id`; EIO naming the OST when one cannot be frozen (nothing is kept then). */
  async create(id: string, signal: AbortSignal): Promise<{ createdAtMs: number }> {
    const file = this.#file(id);
    if (!this.#osts) throw new FsError('EOPNOTSUPP', 'this MDS cannot reach its OSTs to take snapshots');
    // A snapshot of this id left by an unfinished earlier run (a retried backup) goes first.
    await this.drop(id, signal);
    await this.barrier();
    const barrier = Promise.withResolvers<void>();
    this.#barrier = barrier;
    const started = Date.now();
    try {
      await this.#commit.settled();
      await this.#osts.freeze(id, BARRIER_LEASE_MS, signal);
      while (this.#commit.busy) await this.#commit.settled();
      // Synchronous: nothing changes the database while it is copied.
      this.#db.prepare('VACUUM INTO ?').run(file);
      await this.#osts.activate(id, signal);
    } catch (err) {
      await this.#osts.drop(id, AbortSignal.timeout(BARRIER_LEASE_MS)).catch(() => undefined);
      await rm(file, { force: true });
      throw err instanceof FsError
        ? err
        : new FsError('EIO', `snapshot ${id} failed: ${String(err)}`, { cause: err });
    } finally {
      this.#barrier = undefined;
      barrier.resolve();
    }
    this.#log.info('snapshot taken', { snapshot: id, barrierMs: Date.now() - started });
    return { createdAtMs: started };
  }

  /** Forgets snapshot `id` on the MDT and every OST (idempotent). */
  async drop(id: string, signal: AbortSignal): Promise<void> {
    const file = this.#file(id);
    this.#trees.delete(id);
    await this.#osts?.drop(id, signal);
    for (const suffix of ['', '-wal', '-shm']) await rm(`${file}${suffix}`, { force: true });
  }

  /** Entries [cursor, cursor + limit) of the snapshot's tree; `next` is undefined after the last. */
  list(id: string, cursor: number, limit: number): { entries: SnapshotEntry[]; next?: number } {
    let tree = this.#trees.get(id);
    if (!tree) {
      tree = walk(this.#file(id));
      this.#trees.set(id, tree);
    }
    const entries = tree.slice(cursor, cursor + limit);
    return cursor + limit < tree.length ? { entries, next: cursor + limit } : { entries };
  }
}

/** The whole tree of a snapshot database, parents before children. ENOENT for a snapshot not taken. */
function walk(file: string): SnapshotEntry[] {
  if (!existsSync(file)) throw new FsError('ENOENT', 'no such snapshot (never taken, or dropped)');
  const store = new Store(file, { now: Date.now() });
  try {
    const ns = new Namespace({
      store,
      clock: Date.now,
      layouts: new LayoutAllocator(1),
      defaultPolicy: DEFAULT_POLICY,
      osts: () => [],
      unlinkLingerMs: 0,
    });
    const cred = ROOT_CREDENTIALS;
    const out: SnapshotEntry[] = [];
    const add = (path: string, attr: Attr) => {
      const e: SnapshotEntry = { path, attr: withSizeOnOsts(store.db, attr, '') };
      const type = attr.mode & S_IFMT;
      const layout = type === S_IFDIR || type === S_IFLNK ? null : ns.getLayout(attr.ino);
      if (layout) e.layout = layout;
      if (type === S_IFLNK) e.target = ns.readlink(attr.ino);
      const names = listxattr(ns, cred, attr.ino);
      if (names.length > 0)
        e.xattrs = Object.fromEntries(
          names.map((n) => [n, getxattr(ns, cred, attr.ino, n).toString('base64')]),
        );
      out.push(e);
    };
    add('', ns.getattr(ROOT_INO));
    const dirs: { path: string; ino: number }[] = [{ path: '', ino: ROOT_INO }];
    while (dirs.length > 0) {
      const dir = dirs.pop()!;
      for (let cookie = 0; ; ) {
        const batch = ns.readdir(cred, dir.ino, cookie, 1024, true);
        if (batch.length === 0) break;
        for (const d of batch) {
          cookie = d.cookie;
          if (d.name === '.' || d.name === '..' || !d.attr) continue;
          const path = dir.path ? `${dir.path}/${d.name}` : d.name;
          add(path, d.attr);
          if ((d.attr.mode & S_IFMT) === S_IFDIR) dirs.push({ path, ino: d.ino });
        }
      }
    }
    return out;
  } finally {
    store.close();
  }
}
