// Backup and restore of a whole file system through the client port: walk the tree into a manifest of chunks, and write it back.
import { constants as fsConstants } from 'node:fs';
import { FsError } from '../../../lib/errors.ts';
import {
  type Attr,
  type FileSystemClient,
  ROOT_CREDENTIALS,
  ROOT_INO,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
} from '../../../lustre/types.ts';
import type { BackupStore, ChunkRef, EntryType, Manifest, ManifestEntry } from './backup-store.ts';

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
const READDIR_BATCH = 256;
/** Times a file is re-read when it changed while being read, before the last read is kept. */
const CONSISTENCY_RETRIES = 3;
const cred = ROOT_CREDENTIALS;

const TYPES: Record<number, EntryType> = {
  [S_IFDIR]: 'dir',
  [S_IFREG]: 'file',
  [S_IFLNK]: 'symlink',
  [S_IFIFO]: 'fifo',
  [S_IFSOCK]: 'socket',
  [S_IFCHR]: 'chr',
  [S_IFBLK]: 'blk',
};

export interface BackupResult {
  manifest: Manifest;
  /** Chunks (and their bytes) this backup added to the store; the rest were already there. */
  newChunks: number;
  newBytes: number;
}

export interface BackupOptions {
  backupId: string;
  /** The previous backup of the same file system: files it holds unchanged (same inode, size, mtime, ctime) are not read again. */
  previous?: Manifest | undefined;
  chunkSize?: number;
  signal: AbortSignal;
  /** Called as content is read, with bytes so far. */
  onProgress?: (bytes: number) => void;
}

function unchanged(a: ManifestEntry | undefined, attr: Attr): a is ManifestEntry & { chunks: ChunkRef[] } {
  return (
    a !== undefined &&
    a.type === 'file' &&
    a.chunks !== undefined &&
    a.linkOf === undefined &&
    a.size === attr.size &&
    a.mtimeMs === attr.mtimeMs &&
    a.ctimeMs === attr.ctimeMs
  );
}

function sameVersion(a: Attr, b: Attr): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

class Walker {
  readonly entries: ManifestEntry[] = [];
  readonly #client: FileSystemClient;
  readonly #store: BackupStore;
  readonly #opts: BackupOptions;
  readonly #chunkSize: number;
  readonly #zero: Buffer;
  readonly #previous = new Map<number, ManifestEntry>();
  readonly #seen = new Map<number, string>();
  bytes = 0;
  newChunks = 0;
  newBytes = 0;

  constructor(client: FileSystemClient, store: BackupStore, opts: BackupOptions) {
    this.#client = client;
    this.#store = store;
    this.#opts = opts;
    this.#chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.#zero = Buffer.alloc(this.#chunkSize);
    for (const e of opts.previous?.entries ?? []) if (!e.linkOf) this.#previous.set(e.ino, e);
  }

  async walk(): Promise<void> {
    const signal = this.#opts.signal;
    const root = await this.#client.getattr(ROOT_INO, signal);
    await this.#add('', root);
    const dirs: { path: string; ino: number }[] = [{ path: '', ino: ROOT_INO }];
    while (dirs.length > 0) {
      const dir = dirs.pop()!;
      for (let cookie = 0; ; ) {
        const batch = await this.#client.readdir(cred, dir.ino, cookie, READDIR_BATCH, true, signal);
        if (batch.length === 0) break;
        for (const d of batch) {
          cookie = d.cookie;
          if (d.name === '.' || d.name === '..') continue;
          const attr = d.attr ?? (await this.#client.getattr(d.ino, signal));
          const p = dir.path ? `${dir.path}/${d.name}` : d.name;
          const entry = await this.#add(p, attr);
          if (entry?.type === 'dir') dirs.push({ path: p, ino: attr.ino });
        }
      }
    }
  }

  async #add(p: string, attr: Attr): Promise<ManifestEntry | undefined> {
    const signal = this.#opts.signal;
    signal.throwIfAborted();
    const type = TYPES[attr.mode & S_IFMT];
    if (!type) return undefined;
    const first = type !== 'dir' ? this.#seen.get(attr.ino) : undefined;
    if (first !== undefined) {
      const link = { ...manifestEntry(p, attr, type), linkOf: first };
      this.entries.push(link);
      return link;
    }
    if (type !== 'dir' && attr.nlink > 1) this.#seen.set(attr.ino, p);
    let final = attr;
    let chunks: ChunkRef[] | undefined;
    let target: string | undefined;
    if (type === 'file') ({ attr: final, chunks } = await this.#content(attr));
    else if (type === 'symlink') target = await this.#client.readlink(attr.ino, signal);
    const entry = manifestEntry(p, final, type);
    if (chunks) entry.chunks = chunks;
    if (target !== undefined) entry.target = target;
    const xattrs = await this.#xattrs(attr.ino);
    if (xattrs) entry.xattrs = xattrs;
    this.entries.push(entry);
    return entry;
  }

  async #xattrs(ino: number): Promise<Record<string, string> | undefined> {
    const signal = this.#opts.signal;
    let names: string[];
    try {
      names = await this.#client.listxattr(cred, ino, signal);
    } catch (err) {
      if (err instanceof FsError && ['ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(err.code)) return undefined;
      throw err;
    }
    if (names.length === 0) return undefined;
    const out: Record<string, string> = {};
    for (const name of names) {
      try {
        out[name] = (await this.#client.getxattr(cred, ino, name, signal)).toString('base64');
      } catch (err) {
        if (!(err instanceof FsError && err.code === 'ENODATA')) throw err;
      }
    }
    return out;
  }

  /** The file's chunks, read until a pass saw the same version before and after (or the retries ran out). */
  async #content(attr: Attr): Promise<{ attr: Attr; chunks: ChunkRef[] }> {
    const previous = this.#previous.get(attr.ino);
    if (unchanged(previous, attr)) {
      this.bytes += attr.size;
      return { attr, chunks: previous.chunks };
    }
    let before = attr;
    for (let attempt = 0; ; attempt++) {
      const chunks = await this.#read(before.ino);
      const after = await this.#client.getattr(before.ino, this.#opts.signal);
      if (sameVersion(before, after) || attempt >= CONSISTENCY_RETRIES) return { attr: after, chunks };
      before = after;
    }
  }

  async #read(ino: number): Promise<ChunkRef[]> {
    const signal = this.#opts.signal;
    const handle = await this.#client.open(cred, ino, fsConstants.O_RDONLY, signal);
    const chunks: ChunkRef[] = [];
    try {
      for (let offset = 0; ; ) {
        const data = await this.#client.read(handle, offset, this.#chunkSize, signal);
        if (data.length === 0) break;
        chunks.push(await this.#storeChunk(data));
        offset += data.length;
        this.bytes += data.length;
        this.#opts.onProgress?.(this.bytes);
        if (data.length < this.#chunkSize) break;
      }
    } finally {
      await this.#client.release(handle, signal);
    }
    return chunks;
  }

  async #storeChunk(data: Buffer): Promise<ChunkRef> {
    if (data.equals(this.#zero.subarray(0, data.length)))
      return { hash: '', length: data.length, zero: true };
    const { hash, stored } = await this.#store.putChunk(data);
    if (stored) {
      this.newChunks++;
      this.newBytes += data.length;
    }
    return { hash, length: data.length };
  }
}

/** A manifest entry for `a` at path `p`: its owner, mode, size and times (rdev for devices). */
export function manifestEntry(p: string, a: Attr, type: EntryType): ManifestEntry {
  const e: ManifestEntry = {
    path: p,
    ino: a.ino,
    type,
    mode: a.mode,
    uid: a.uid,
    gid: a.gid,
    size: a.size,
    atimeMs: a.atimeMs,
    mtimeMs: a.mtimeMs,
    ctimeMs: a.ctimeMs,
  };
  if (type === 'chr' || type === 'blk') e.rdev = a.rdev;
  return e;
}

/**
 * Walks the whole file system and stores its content as chunks plus a manifest under `backupId`.
 * Each file is consistent in itself (re-read when it changed during the read); the tree is not a
 * point-in-time snapshot across files. Chunks already in the store are not stored again.
 */
export async function takeBackup(
  client: FileSystemClient,
  store: BackupStore,
  opts: BackupOptions,
): Promise<BackupResult> {
  const release = await store.beginWrite();
  try {
    const walker = new Walker(client, store, opts);
    await walker.walk();
    const manifest: Manifest = {
      version: 1,
      backupId: opts.backupId,
      createdAtMs: Date.now(),
      chunkSize: opts.chunkSize ?? DEFAULT_CHUNK_SIZE,
      entries: walker.entries,
      logicalBytes: walker.entries.reduce((n, e) => n + (e.type === 'file' && !e.linkOf ? e.size : 0), 0),
    };
    await store.writeManifest(manifest);
    return { manifest, newChunks: walker.newChunks, newBytes: walker.newBytes };
  } finally {
    release();
  }
}
