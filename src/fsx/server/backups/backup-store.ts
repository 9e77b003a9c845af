// Backup storage on local disk: content-addressed chunks (sha256) shared by all backups, one manifest per backup, mark-and-sweep GC.

import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurably } from '../../../lib/durable-file.ts';
import { NacreError, ValidationError } from '../../../lib/errors.ts';

/** One regular file's content: chunks in order; a `zero` chunk is a run of zeros that is not stored. */
export interface ChunkRef {
  hash: string;
  length: number;
  zero?: true;
}

export type EntryType = 'dir' | 'file' | 'symlink' | 'fifo' | 'socket' | 'chr' | 'blk';

/** One inode as the backup saw it, under one of its paths. */
export interface ManifestEntry {
  /** Path from the root, "" for the root itself, "a/b" below it. */
  path: string;
  /** Inode number in the source file system (hard links share it). */
  ino: number;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  rdev?: number;
  size: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  /** Extended attributes, values base64. */
  xattrs?: Record<string, string>;
  /** Symlink target. */
  target?: string;
  /** A further name of an inode already listed under this path (a hard link). */
  linkOf?: string;
  chunks?: ChunkRef[];
}

export interface Manifest {
  version: 1;
  backupId: string;
  createdAtMs: number;
  chunkSize: number;
  /** Parents always come before their children. */
  entries: ManifestEntry[];
  /** Bytes of file content the backup represents. */
  logicalBytes: number;
}

/**
 * Where backups live. Chunks are immutable and named by the sha256 of their content, so a chunk
 * stored once serves every backup that contains it (incremental backups store only new chunks).
 * Deleting a backup removes its manifest and then every chunk no remaining manifest refers to; the
 * sweep waits while any writer holds `beginWrite()` so a backup in progress never loses a chunk it
 * reuses. All writes are atomic (temporary file, fsync, rename).
 */
export interface BackupStore {
  /** Stores a chunk unless present; returns whether it was new. */
  putChunk(data: Buffer): Promise<{ hash: string; stored: boolean }>;
  getChunk(hash: string): Promise<Buffer>;
  writeManifest(manifest: Manifest): Promise<void>;
  /** The manifest, or undefined when the backup has none (never finished, or deleted). */
  readManifest(backupId: string): Promise<Manifest | undefined>;
  deleteBackup(backupId: string): Promise<void>;
  /** Holds off the garbage collector (waiting for a sweep in progress to stop) until the returned function is called. */
  beginWrite(): Promise<() => void>;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export class DiskBackupStore implements BackupStore {
  readonly #chunks: string;
  readonly #manifests: string;
  #writers = 0;
  #sweepWanted = false;
  #sweeping: Promise<void> | undefined;

  private constructor(dir: string) {
    this.#chunks = path.join(dir, 'chunks');
    this.#manifests = path.join(dir, 'manifests');
  }

  static async open(dir: string): Promise<DiskBackupStore> {
    const store = new DiskBackupStore(dir);
    await mkdir(store.#chunks, { recursive: true });
    await mkdir(store.#manifests, { recursive: true });
    return store;
  }

  #chunkPath(hash: string): string {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new ValidationError(`bad chunk hash ${hash}`);
    return path.join(this.#chunks, hash.slice(0, 2), hash);
  }

  #manifestPath(backupId: string): string {
    if (!/^backup-[0-9a-f]+$/.test(backupId)) throw new ValidationError(`bad backup id ${backupId}`);
    return path.join(this.#manifests, `${backupId}.json`);
  }

  async putChunk(data: Buffer): Promise<{ hash: string; stored: boolean }> {
    const hash = sha256(data);
    const file = this.#chunkPath(hash);
    try {
      await stat(file);
      return { hash, stored: false };
    } catch {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFileDurably(file, data);
      return { hash, stored: true };
    }
  }

  async getChunk(hash: string): Promise<Buffer> {
    const data = await readFile(this.#chunkPath(hash));
    if (sha256(data) !== hash) throw new NacreError('CorruptBackup', `chunk ${hash} is corrupt`);
    return data;
  }

  async writeManifest(manifest: Manifest): Promise<void> {
    await writeFileDurably(this.#manifestPath(manifest.backupId), JSON.stringify(manifest));
  }

  async readManifest(backupId: string): Promise<Manifest | undefined> {
    try {
      return JSON.parse(await readFile(this.#manifestPath(backupId), 'utf8')) as Manifest;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async deleteBackup(backupId: string): Promise<void> {
    await rm(this.#manifestPath(backupId), { force: true });
    this.#sweepWanted = true;
    await this.#maybeSweep();
  }

  async beginWrite(): Promise<() => void> {
    this.#writers++;
    if (this.#sweeping) await this.#sweeping.catch(() => {});
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#writers--;
      void this.#maybeSweep();
    };
  }

  /** Runs a sweep when one is wanted and no writer is active; resolves when it finished (or was deferred). */
  async #maybeSweep(): Promise<void> {
    if (this.#sweeping) await this.#sweeping.catch(() => {});
    if (!this.#sweepWanted || this.#writers > 0) return;
    this.#sweepWanted = false;
    this.#sweeping = this.#sweep().finally(() => {
      this.#sweeping = undefined;
    });
    await this.#sweeping;
  }

  async #sweep(): Promise<void> {
    const live = new Set<string>();
    for (const name of await readdir(this.#manifests)) {
      if (!name.endsWith('.json')) continue;
      const m = JSON.parse(await readFile(path.join(this.#manifests, name), 'utf8')) as Manifest;
      for (const e of m.entries) for (const c of e.chunks ?? []) if (!c.zero) live.add(c.hash);
    }
    for (const dir of await readdir(this.#chunks)) {
      for (const name of await readdir(path.join(this.#chunks, dir))) {
        if (this.#writers > 0) {
          this.#sweepWanted = true;
          return;
        }
        if (!live.has(name)) await rm(path.join(this.#chunks, dir, name), { force: true });
      }
    }
  }
}
