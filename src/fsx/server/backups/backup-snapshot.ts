// Point-in-time backups: the file system's snapshot (one instant for every file, metadata and data) walked into a manifest of chunks.
import type { Attr, Layout } from '../../../lustre/types.ts';
import {
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
} from '../../../lustre/types.ts';
import { type BackupOptions, type BackupResult, DEFAULT_CHUNK_SIZE, manifestEntry } from './backup-engine.ts';
import type { BackupStore, ChunkRef, EntryType, Manifest, ManifestEntry } from './backup-store.ts';

/** One entry of a snapshot, parents before children, with its size at the snapshot. */
export interface SnapshotEntry {
  path: string;
  attr: Attr;
  layout?: Layout;
  target?: string;
  xattrs?: Record<string, string>;
}

/** A snapshot taken of a file system (LustreClient.takeSnapshot). */
export interface SnapshotView {
  readonly createdAtMs: number;
  entries(signal?: AbortSignal): AsyncIterable<SnapshotEntry>;
  read(e: SnapshotEntry, offset: number, length: number, signal?: AbortSignal): Promise<Buffer>;
  drop(signal?: AbortSignal): Promise<unknown>;
}

/** A client that can take snapshots of its file system. */
export interface Snapshots {
  takeSnapshot(id: string, signal?: AbortSignal): Promise<SnapshotView>;
}

export function canSnapshot(client: object): client is Snapshots {
  return typeof (client as Partial<Snapshots>).takeSnapshot === 'function';
}

const TYPES: Record<number, EntryType> = {
  [S_IFDIR]: 'dir',
  [S_IFREG]: 'file',
  [S_IFLNK]: 'symlink',
  [S_IFIFO]: 'fifo',
  [S_IFSOCK]: 'socket',
  [S_IFCHR]: 'chr',
  [S_IFBLK]: 'blk',
};

/**
 * Takes a snapshot of the file system under the backup's id, stores every file as it was at that
 * instant (files unchanged since `previous` are not read again; chunks already stored are not
 * stored again), writes the manifest and drops the snapshot. A writer busy during the backup
 * never shows in it past the snapshot's instant, in any file (FSx's file-system-consistent backups).
 */
export async function takeSnapshotBackup(
  client: Snapshots,
  store: BackupStore,
  opts: BackupOptions,
): Promise<BackupResult> {
  const signal = opts.signal;
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const zero = Buffer.alloc(chunkSize);
  const previous = new Map<number, ManifestEntry>();
  for (const e of opts.previous?.entries ?? []) if (!e.linkOf) previous.set(e.ino, e);
  const release = await store.beginWrite();
  const snap = await client.takeSnapshot(opts.backupId, signal);
  try {
    const entries: ManifestEntry[] = [];
    const seen = new Map<number, string>();
    let bytes = 0;
    let newChunks = 0;
    let newBytes = 0;
    const storeChunk = async (data: Buffer): Promise<ChunkRef> => {
      if (data.equals(zero.subarray(0, data.length))) return { hash: '', length: data.length, zero: true };
      const { hash, stored } = await store.putChunk(data);
      if (stored) {
        newChunks++;
        newBytes += data.length;
      }
      return { hash, length: data.length };
    };
    for await (const s of snap.entries(signal)) {
      signal.throwIfAborted();
      const type = TYPES[s.attr.mode & S_IFMT];
      if (!type) continue;
      const a = s.attr;
      const e = manifestEntry(s.path, a, type);
      const first = type !== 'dir' ? seen.get(a.ino) : undefined;
      if (first !== undefined) {
        entries.push({ ...e, linkOf: first });
        continue;
      }
      if (type !== 'dir' && a.nlink > 1) seen.set(a.ino, s.path);
      if (s.target !== undefined) e.target = s.target;
      if (s.xattrs) e.xattrs = s.xattrs;
      if (type === 'file') {
        const p = previous.get(a.ino);
        if (p?.chunks && p.size === a.size && p.mtimeMs === a.mtimeMs && p.ctimeMs === a.ctimeMs) {
          e.chunks = p.chunks;
          bytes += a.size;
        } else {
          e.chunks = [];
          for (let offset = 0; offset < a.size; offset += chunkSize) {
            const data = await snap.read(s, offset, Math.min(chunkSize, a.size - offset), signal);
            e.chunks.push(await storeChunk(data));
            bytes += data.length;
            opts.onProgress?.(bytes);
          }
        }
      }
      entries.push(e);
    }
    const manifest: Manifest = {
      version: 1,
      backupId: opts.backupId,
      createdAtMs: snap.createdAtMs,
      chunkSize,
      entries,
      logicalBytes: entries.reduce((n, x) => n + (x.type === 'file' && !x.linkOf ? x.size : 0), 0),
    };
    await store.writeManifest(manifest);
    return { manifest, newChunks, newBytes };
  } finally {
    await snap.drop(AbortSignal.timeout(30_000)).catch(() => undefined);
    release();
  }
}
