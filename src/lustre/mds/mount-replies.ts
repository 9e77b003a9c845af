// Bounds the reply-cache rows kept under keeper mount ids: forgotten at unmount (forgetMount), swept once unwritten for an hour.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Logger } from '../../lib/log.ts';
import type { GroupCommit } from './commit.ts';

/** How keyed replies of gone mounts are dropped. */
export interface MountReplyOptions {
  /**
   * A mount's replies go once none was written for this long, counted from the later of the last
   * write and this MDS's start (a resend needs the kernel's request: it comes within a daemon
   * replacement, seconds to a minute; the MDS may have been down meanwhile). Default 1 h.
   */
  maxAgeMs?: number;
  /** How often the sweep runs. Default 60 s; 0 never (tests call sweep()). */
  sweepEveryMs?: number;
  /** Mounts dropped per sweep, one transaction each. Default 64. */
  mountsPerSweep?: number;
}

interface Deps {
  db: DatabaseSync;
  commit: GroupCommit;
  clock: () => number;
  log: Logger;
  /** The MDT's last reply sequence per client: a dropped mount's entry goes too. */
  seqs: Map<string, number>;
}

/** The reply-cache client of keyed requests from mounts (request-key.ts). */
export const MOUNT_PREFIX = 'mount:';

/**
 * The last write time of each mount's keyed replies, in the MDT database (table `mount_replies`),
 * and the two ways those replies go: `forget` when the mount's daemon saw the kernel end the
 * connection (no resend can follow), and a sweep for mounts that ended without saying so (node
 * lost, daemon killed with its keeper). Each mount is dropped in its own transaction of at most
 * one mount's replies (the per-mount trim keeps ≤ replyCacheSize + 64), so a sweep never holds the
 * group commit for long.
 */
export class MountReplies {
  readonly #d: Deps;
  readonly #maxAgeMs: number;
  readonly #perSweep: number;
  readonly #startedAt: number;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #q: Record<'touch' | 'stale' | 'writtenAt' | 'dropReplies' | 'dropMount', StatementSync>;
  #sweeping: Promise<number> | undefined;

  constructor(d: Deps, o: MountReplyOptions = {}) {
    this.#d = d;
    this.#maxAgeMs = o.maxAgeMs ?? 3_600_000;
    this.#perSweep = o.mountsPerSweep ?? 64;
    this.#startedAt = d.clock();
    d.db.exec(`CREATE TABLE IF NOT EXISTS mount_replies (client TEXT PRIMARY KEY, written REAL NOT NULL);
      CREATE INDEX IF NOT EXISTS mount_replies_by_written ON mount_replies (written);`);
    // Replies of mounts written before this table existed age from now.
    d.db
      .prepare(
        `INSERT OR IGNORE INTO mount_replies (client, written)
         SELECT DISTINCT client, ? FROM replies WHERE client >= ? AND client < ?`,
      )
      .run(this.#startedAt, MOUNT_PREFIX, `${MOUNT_PREFIX.slice(0, -1)};`);
    const p = (sql: string) => d.db.prepare(sql);
    this.#q = {
      touch: p('INSERT OR REPLACE INTO mount_replies (client, written) VALUES (?, ?)'),
      stale: p('SELECT client FROM mount_replies WHERE written < ? ORDER BY written LIMIT ?'),
      writtenAt: p('SELECT written FROM mount_replies WHERE client = ?'),
      dropReplies: p('DELETE FROM replies WHERE client = ?'),
      dropMount: p('DELETE FROM mount_replies WHERE client = ?'),
    };
    const every = o.sweepEveryMs ?? 60_000;
    if (every > 0) {
      this.#timer = setInterval(() => void this.sweep(), every);
      this.#timer.unref();
    }
  }

  /** Notes a keyed reply written now; call inside the transaction that stores it. No-op for other clients. */
  written(client: string): void {
    if (!client.startsWith(MOUNT_PREFIX)) return;
    this.#q.touch.run(client, this.#d.clock());
  }

  /** Drops every reply of the mount `client` (`mount:<id>`), durably. Idempotent: an unknown mount is not an error. */
  forget(client: string): Promise<number> {
    return this.#d.commit.apply(() => this.#drop(client));
  }

  /**
   * Drops the replies of up to mountsPerSweep mounts unwritten for maxAgeMs (nothing in the first
   * maxAgeMs after start). Resolves with the number of mounts dropped; never rejects (failures are
   * logged and tried at the next sweep). Concurrent calls share one sweep.
   */
  sweep(): Promise<number> {
    this.#sweeping ??= this.#sweepOnce().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  async #sweepOnce(): Promise<number> {
    const cutoff = this.#d.clock() - this.#maxAgeMs;
    if (this.#startedAt > cutoff) return 0;
    let stale: string[];
    try {
      stale = this.#q.stale.all(cutoff, this.#perSweep).map((r) => String(r['client']));
    } catch (err) {
      this.#d.log.warn('reading gone mounts failed; trying again later', { error: String(err) });
      return 0;
    }
    let dropped = 0;
    for (const client of stale) {
      try {
        // Written again since the select: still live, keep it.
        const n = await this.#d.commit.apply(() =>
          this.#writtenAt(client) < cutoff ? this.#drop(client) : -1,
        );
        if (n >= 0) dropped++;
      } catch (err) {
        this.#d.log.warn('dropping the replies of a gone mount failed; trying again later', {
          client,
          error: String(err),
        });
        break;
      }
    }
    if (dropped > 0) this.#d.log.info('dropped the replies of gone mounts', { mounts: dropped });
    return dropped;
  }

  #writtenAt(client: string): number {
    const r = this.#q.writtenAt.get(client);
    return r === undefined ? Number.POSITIVE_INFINITY : Number(r['written']);
  }

  /** Deletes the mount's replies and its row; returns how many replies went. */
  #drop(client: string): number {
    const n = this.#q.dropReplies.run(client).changes;
    this.#q.dropMount.run(client);
    this.#d.seqs.delete(client);
    return Number(n);
  }
}
