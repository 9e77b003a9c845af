// Lustre-style project quotas on the MDT: project IDs and PROJINHERIT, limits, EDQUOT checks and block grants to writers.
//
// Where block usage is counted: on the MDS, from the size every file records there (the client
// tells the MDS each new end of file before a write resolves), in the same transaction as the
// size. That is exact under concurrent writers from many clients, because every growth of every
// file passes through the MDS's single, serialised transaction stream, and it survives restarts
// and kill -9 with the namespace. The check comes before the data: a client holds a *grant* per
// file — "you may grow this file up to byte E" — taken from the project's free quota, and asks for
// more only when a write would pass E, so the OSTs never receive bytes the quota cannot hold
// (a grant is stored with the namespace, so it survives an MDS restart, and lives while its client
// has the file open — bytes written but not yet reported as a size stay reserved — going at the
// last close or with an evicted client's handles).
// The size update itself is checked again (a client that skips grants still gets EDQUOT).
import { FsError } from '../../lib/errors.ts';
import {
  type Credentials,
  type QuotaGrant,
  type QuotaInfo,
  type QuotaLimits,
  S_IFDIR,
  S_IFMT,
  S_IFREG,
} from '../types.ts';

export type { QuotaGrant, QuotaInfo, QuotaLimits };

import { isOwnerOrRoot, isRoot } from './perm.ts';
import { type GrantRow, type ProjectRow, QuotaStore } from './quota-schema.ts';
import type { InodeRow, Store } from './store.ts';

/** What the quotas need of the namespace (NsCore): its store and its inode rows (ENOENT when missing). */
export interface QuotaNamespace {
  readonly store: Store;
  inode(ino: number): InodeRow;
}

/** Largest project ID (Lustre: 2^32 - 2; 2^32 - 1 is "no ID"). */
export const PROJID_MAX = 2 ** 32 - 2;
/** How long a client may rely on a grant (the MDS may have restarted since) or on "no limit". */
export const GRANT_TTL_MS = 4_000;
export const UNLIMITED_TTL_MS = 1_000;
/** Most bytes granted beyond what a write needs, so a streaming writer asks once per chunk. */
export const GRANT_CHUNK = 8 * 1024 * 1024;

const typeOf = (mode: number) => mode & S_IFMT;
const isDir = (row: { mode: number }) => typeOf(row.mode) === S_IFDIR;

/** Bytes the MDS charges for a file of `size` bytes (its 512-byte blocks, as inodes.blocks). */
const bytesOf = (size: number) => Math.ceil(size / 512) * 512;

/** Project IDs, limits and grants of one MDT. Methods other than grants run inside the caller's transaction. */
export class ProjectQuotas {
  readonly rows: QuotaStore;
  readonly #ns: QuotaNamespace;

  constructor(ns: QuotaNamespace) {
    this.#ns = ns;
    this.rows = new QuotaStore(ns.store.db);
  }

  project(ino: number): ProjectRow {
    this.#ns.inode(ino);
    return this.rows.project(ino);
  }

  /**
   * lfs project -p ID [-s]: sets the inode's project ID and inherit flag (directories only; EINVAL
   * on others). Changing the ID takes root (EPERM); the inherit flag, the owner or root.
   * Usage moves with the inode; limits are not checked (as in Lustre).
   */
  setProject(cred: Credentials, ino: number, projid: number, inherit: boolean): void {
    if (!Number.isSafeInteger(projid) || projid < 0 || projid > PROJID_MAX) {
      throw new FsError('EINVAL', `project ID must be 0..${PROJID_MAX}`);
    }
    const row = this.#ns.inode(ino);
    if (inherit && !isDir(row)) throw new FsError('EINVAL', 'only a directory can pass its project on (-s)');
    const cur = this.rows.project(ino);
    if (cur.projid !== projid && !isRoot(cred))
      throw new FsError('EPERM', 'only root may change a project ID');
    if (!isOwnerOrRoot(cred, row)) throw new FsError('EPERM', 'only the owner may set the inherit flag');
    this.rows.setProject(ino, { projid, inherit });
  }

  /** Sets a project's hard limits (0 = none). Project 0 (no project) takes no limits (EINVAL). */
  setQuota(projid: number, l: QuotaLimits): void {
    if (!Number.isSafeInteger(projid) || projid < 1 || projid > PROJID_MAX) {
      throw new FsError('EINVAL', `project ID must be 1..${PROJID_MAX}: project 0 takes no limits`);
    }
    for (const [k, v] of Object.entries(l)) {
      if (!Number.isSafeInteger(v) || v < 0) throw new FsError('EINVAL', `${k} must be an integer >= 0`);
    }
    this.rows.setLimits(projid, l.blockHardLimitBytes, l.inodeHardLimit);
  }

  quota(projid: number): QuotaInfo {
    const q = this.rows.quota(projid);
    return {
      blockUsageBytes: q.bytes,
      inodeUsage: q.inodes,
      blockHardLimitBytes: q.blockHard,
      inodeHardLimit: q.inodeHard,
    };
  }

  /**
   * The project a new inode in `parent` gets (the parent's, if it passes it on), after checking
   * the project's inode limit: EDQUOT when it is reached.
   */
  forNew(parent: InodeRow): ProjectRow | undefined {
    const p = this.rows.project(parent.ino);
    if (!p.inherit) return undefined;
    const q = this.rows.quota(p.projid);
    if (q.inodeHard > 0 && q.inodes >= q.inodeHard) {
      throw new FsError(
        'EDQUOT',
        `project ${p.projid} has reached its inode limit (${q.inodes} of ${q.inodeHard} inodes)`,
      );
    }
    return p;
  }

  /** Tags a new inode with the project `forNew` chose; new directories pass it on too. */
  assign(ino: number, p: ProjectRow | undefined, dir: boolean): void {
    if (p) this.rows.setProject(ino, { projid: p.projid, inherit: dir });
  }

  /**
   * rename or link of `moved` into `to`: EXDEV when `to` passes on a project other than the
   * inode's own (as Lustre and ext4 do; mv then copies, so the copy is charged to `to`'s project).
   */
  checkMove(moved: InodeRow, to: InodeRow): void {
    const dest = this.rows.project(to.ino);
    if (!dest.inherit) return;
    const own = this.rows.project(moved.ino).projid;
    if (own !== dest.projid) {
      throw new FsError(
        'EXDEV',
        `the target directory belongs to project ${dest.projid}, the source to ${own}`,
      );
    }
  }

  /**
   * A file grows from `row.size` to `size` (write, truncate up, fallocate): allowed within the
   * calling client's grant, or when the project's free quota holds the growth; EDQUOT otherwise.
   */
  checkGrowth(client: string, row: InodeRow, size: number): void {
    const growth = bytesOf(size) - bytesOf(row.size);
    if (growth <= 0 || typeOf(row.mode) !== S_IFREG) return;
    const { projid } = this.rows.project(row.ino);
    const q = this.rows.quota(projid);
    if (q.blockHard === 0) return;
    const own = this.rows.grant(client, row.ino);
    if (own && own.projid === projid && size <= own.end && this.#live(own)) return;
    const free = q.blockHard - q.bytes - this.#reserved(projid, client, row.ino);
    if (growth > free) throw overQuota(projid, q.bytes, q.blockHard);
  }

  /**
   * Grants `client` the right to grow regular file `ino` to at least `end` (and a chunk more while
   * the quota allows), reserving that space in the project; EDQUOT when the project cannot hold
   * `end`. `end: null` when no block limit applies. Runs inside the caller's transaction.
   */
  grant(client: string, ino: number, end: number): QuotaGrant {
    const row = this.#ns.inode(ino);
    if (typeOf(row.mode) !== S_IFREG) throw new FsError('EINVAL', 'only regular files take quota grants');
    const { projid } = this.rows.project(ino);
    const q = this.rows.quota(projid);
    if (q.blockHard === 0) return { end: null, ttlMs: UNLIMITED_TTL_MS };
    const free = q.blockHard - q.bytes - this.#reserved(projid, client, ino);
    const have = bytesOf(row.size);
    // The largest end whose blocks still fit: whole 512-byte blocks past what the file has.
    const maxEnd = Math.max(row.size, Math.floor((have + Math.max(0, free)) / 512) * 512);
    const need = bytesOf(end) - have;
    if (need > 0 && need > free) throw overQuota(projid, q.bytes, q.blockHard);
    // A chunk beyond the need, shrinking to a quarter of what is left near the limit (as Lustre's
    // qunit shrinks), so one writer's grant does not starve the others.
    const extra = Math.min(GRANT_CHUNK, Math.floor(Math.max(0, free - Math.max(need, 0)) / 4 / 512) * 512);
    const granted = Math.min(maxEnd, Math.max(end, row.size) + extra);
    const prev = this.rows.grant(client, ino);
    const g = { client, ino, projid, end: Math.max(granted, prev?.projid === projid ? prev.end : 0) };
    this.rows.putGrant(g);
    return { end: g.end, ttlMs: GRANT_TTL_MS };
  }

  /** A grant saying "no limit" for a regular file no block limit applies to; undefined otherwise. */
  unlimited(ino: number): QuotaGrant | undefined {
    const row = this.#ns.store.getInode(ino);
    if (!row || typeOf(row.mode) !== S_IFREG) return undefined;
    const q = this.rows.quota(this.rows.project(ino).projid);
    return q.blockHard === 0 ? { end: null, ttlMs: UNLIMITED_TTL_MS } : undefined;
  }

  /**
   * statfs of a directory that passes on a project with limits: the limits as the size and the
   * usage as used (so df inside a sub-directory volume shows its quota); undefined otherwise.
   */
  statfsOf(ino: number): (QuotaInfo & { projectId: number }) | undefined {
    const row = this.#ns.store.getInode(ino);
    if (!row) return undefined;
    const p = this.rows.project(ino);
    if (!p.inherit) return undefined;
    const info = this.quota(p.projid);
    if (info.blockHardLimitBytes === 0 && info.inodeHardLimit === 0) return undefined;
    return { ...info, projectId: p.projid };
  }

  /** A grant holds while its client has the file open (writes go through open handles). */
  #live(g: GrantRow): boolean {
    return this.#ns.store.openCount(g.ino, g.client) > 0;
  }

  /** Bytes reserved by live grants of the project other than (client, ino)'s, deleting dead ones. */
  #reserved(projid: number, client: string, ino: number): number {
    let sum = 0;
    for (const g of this.rows.grantsOf(projid)) {
      const row = this.#ns.store.getInode(g.ino);
      if (!row || g.end <= row.size || !this.#live(g) || this.rows.project(g.ino).projid !== projid) {
        this.rows.deleteGrant(g.client, g.ino);
        continue;
      }
      if (g.client !== client || g.ino !== ino) sum += bytesOf(g.end) - bytesOf(row.size);
    }
    return sum;
  }
}

function overQuota(projid: number, used: number, limit: number): FsError {
  return new FsError(
    'EDQUOT',
    `project ${projid} is over its block quota (${used} of ${limit} bytes used): delete files or raise the limit`,
  );
}
