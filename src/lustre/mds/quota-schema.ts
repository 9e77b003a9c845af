// The MDT's project-quota tables: project IDs per inode, limits and usage per project, kept current by triggers.
//
// Usage lives in the same SQLite transaction as the namespace change that causes it, so it is
// exactly as durable as the change (it survives kill -9 and restarts with nothing to recompute):
// - inode usage: one per inode carrying the project (a row in inode_projects);
// - block usage: the 512-byte blocks the MDS records for the project's regular files
//   (inodes.blocks, which follows the file size), in bytes.
import type { DatabaseSync } from 'node:sqlite';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const REG = `(mode & ${S_IFMT}) = ${S_IFREG}`;
const BYTES_OF = (ino: string) =>
  `coalesce((SELECT blocks * 512 FROM inodes WHERE ino = ${ino} AND ${REG}), 0)`;

const DDL = `
CREATE TABLE IF NOT EXISTS inode_projects (
  ino INTEGER PRIMARY KEY,
  projid INTEGER NOT NULL,
  inherit INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS project_quotas (
  projid INTEGER PRIMARY KEY,
  block_hard INTEGER NOT NULL DEFAULT 0,
  inode_hard INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  inodes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS quota_grants (
  client TEXT NOT NULL,
  ino INTEGER NOT NULL,
  projid INTEGER NOT NULL,
  grant_end INTEGER NOT NULL,
  PRIMARY KEY (client, ino)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS quota_grants_by_project ON quota_grants (projid);
CREATE TRIGGER IF NOT EXISTS project_join AFTER INSERT ON inode_projects BEGIN
  INSERT OR IGNORE INTO project_quotas (projid) VALUES (NEW.projid);
  UPDATE project_quotas SET inodes = inodes + 1, bytes = bytes + ${BYTES_OF('NEW.ino')}
    WHERE projid = NEW.projid;
END;
CREATE TRIGGER IF NOT EXISTS project_leave AFTER DELETE ON inode_projects BEGIN
  UPDATE project_quotas SET inodes = inodes - 1, bytes = bytes - ${BYTES_OF('OLD.ino')}
    WHERE projid = OLD.projid;
END;
CREATE TRIGGER IF NOT EXISTS project_move AFTER UPDATE OF projid ON inode_projects
  WHEN NEW.projid != OLD.projid BEGIN
  INSERT OR IGNORE INTO project_quotas (projid) VALUES (NEW.projid);
  UPDATE project_quotas SET inodes = inodes - 1, bytes = bytes - ${BYTES_OF('OLD.ino')}
    WHERE projid = OLD.projid;
  UPDATE project_quotas SET inodes = inodes + 1, bytes = bytes + ${BYTES_OF('NEW.ino')}
    WHERE projid = NEW.projid;
END;
CREATE TRIGGER IF NOT EXISTS project_blocks AFTER UPDATE OF blocks ON inodes
  WHEN NEW.blocks != OLD.blocks AND (NEW.mode & ${S_IFMT}) = ${S_IFREG} BEGIN
  UPDATE project_quotas SET bytes = bytes + (NEW.blocks - OLD.blocks) * 512
    WHERE projid = (SELECT projid FROM inode_projects WHERE ino = NEW.ino);
END;
CREATE TRIGGER IF NOT EXISTS project_inode_gone AFTER DELETE ON inodes BEGIN
  UPDATE project_quotas
    SET bytes = bytes - CASE WHEN (OLD.mode & ${S_IFMT}) = ${S_IFREG} THEN OLD.blocks * 512 ELSE 0 END
    WHERE projid = (SELECT projid FROM inode_projects WHERE ino = OLD.ino);
  DELETE FROM inode_projects WHERE ino = OLD.ino;
END;
`;

/** Creates the quota tables and triggers if missing (an MDT from before quotas gains them, empty). */
export function ensureQuotaSchema(db: DatabaseSync): void {
  const outer = db.isTransaction;
  if (!outer) db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(DDL);
    if (!outer) db.exec('COMMIT');
  } catch (err) {
    if (!outer && db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
}

export interface ProjectRow {
  projid: number;
  inherit: boolean;
}

/** Room reserved for `client` to grow file `ino` (of project `projid`) up to byte `end`. */
export interface GrantRow {
  client: string;
  ino: number;
  projid: number;
  end: number;
}

export interface QuotaRow {
  projid: number;
  blockHard: number;
  inodeHard: number;
  bytes: number;
  inodes: number;
}

/** Prepared statements over the quota tables. Runs inside the caller's transaction. */
export class QuotaStore {
  readonly #get;
  readonly #insert;
  readonly #update;
  readonly #delete;
  readonly #quota;
  readonly #setLimits;
  readonly #children;
  readonly #grantsOf;
  readonly #getGrant;
  readonly #putGrant;
  readonly #deleteGrant;

  constructor(db: DatabaseSync) {
    ensureQuotaSchema(db);
    this.#get = db.prepare('SELECT projid, inherit FROM inode_projects WHERE ino = ?');
    this.#insert = db.prepare('INSERT INTO inode_projects (ino, projid, inherit) VALUES (?, ?, ?)');
    this.#update = db.prepare('UPDATE inode_projects SET projid = ?, inherit = ? WHERE ino = ?');
    this.#delete = db.prepare('DELETE FROM inode_projects WHERE ino = ?');
    this.#quota = db.prepare(
      'SELECT projid, block_hard AS blockHard, inode_hard AS inodeHard, bytes, inodes FROM project_quotas WHERE projid = ?',
    );
    this.#setLimits = db.prepare(
      `INSERT INTO project_quotas (projid, block_hard, inode_hard) VALUES (?, ?, ?)
       ON CONFLICT (projid) DO UPDATE SET block_hard = excluded.block_hard, inode_hard = excluded.inode_hard`,
    );
    this.#children = db.prepare('SELECT ino FROM dentries WHERE parent = ?');
    const grantCols = 'client, ino, projid, grant_end AS "end"';
    this.#grantsOf = db.prepare(`SELECT ${grantCols} FROM quota_grants WHERE projid = ?`);
    this.#getGrant = db.prepare(`SELECT ${grantCols} FROM quota_grants WHERE client = ? AND ino = ?`);
    this.#putGrant = db.prepare(
      'INSERT OR REPLACE INTO quota_grants (client, ino, projid, grant_end) VALUES (?, ?, ?, ?)',
    );
    this.#deleteGrant = db.prepare('DELETE FROM quota_grants WHERE client = ? AND ino = ?');
  }

  /** The inode's project (0 and no inherit when it has none). */
  project(ino: number): ProjectRow {
    const r = this.#get.get(ino) as { projid: number; inherit: number } | undefined;
    return r ? { projid: Number(r.projid), inherit: r.inherit !== 0 } : { projid: 0, inherit: false };
  }

  /** Sets (or, for project 0 without inherit, removes) the inode's project; the triggers move its usage. */
  setProject(ino: number, p: ProjectRow): void {
    const had = this.#get.get(ino) !== undefined;
    if (p.projid === 0 && !p.inherit) {
      if (had) this.#delete.run(ino);
    } else if (had) {
      this.#update.run(p.projid, p.inherit ? 1 : 0, ino);
    } else {
      this.#insert.run(ino, p.projid, p.inherit ? 1 : 0);
    }
  }

  /** Limits and usage of a project; zeros for one never seen. */
  quota(projid: number): QuotaRow {
    const r = this.#quota.get(projid) as QuotaRow | undefined;
    if (!r) return { projid, blockHard: 0, inodeHard: 0, bytes: 0, inodes: 0 };
    return {
      projid,
      blockHard: Number(r.blockHard),
      inodeHard: Number(r.inodeHard),
      bytes: Number(r.bytes),
      inodes: Number(r.inodes),
    };
  }

  setLimits(projid: number, blockHard: number, inodeHard: number): void {
    this.#setLimits.run(projid, blockHard, inodeHard);
  }

  grantsOf(projid: number): GrantRow[] {
    return (this.#grantsOf.all(projid) as unknown as GrantRow[]).map(grantRow);
  }
  grant(client: string, ino: number): GrantRow | undefined {
    const r = this.#getGrant.get(client, ino) as unknown as GrantRow | undefined;
    return r ? grantRow(r) : undefined;
  }
  putGrant(g: GrantRow): void {
    this.#putGrant.run(g.client, g.ino, g.projid, g.end);
  }
  deleteGrant(client: string, ino: number): void {
    this.#deleteGrant.run(client, ino);
  }

  /** Inode numbers of a directory's entries. */
  children(dir: number): number[] {
    return (this.#children.all(dir) as { ino: number }[]).map((r) => Number(r.ino));
  }
}

function grantRow(r: GrantRow): GrantRow {
  return { client: String(r.client), ino: Number(r.ino), projid: Number(r.projid), end: Number(r.end) };
}
