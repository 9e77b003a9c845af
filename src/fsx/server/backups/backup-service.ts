// The backup port the API's lifecycle drives, implemented with the chunk store and a client connected to the file system.
import { NacreError } from '../../../lib/errors.ts';
import type { FileSystemClient } from '../../../lustre/types.ts';
import { takeBackup } from './backup-engine.ts';
import { restoreBackup } from './backup-restore.ts';
import { canSnapshot, takeSnapshotBackup } from './backup-snapshot.ts';
import type { BackupStore } from './backup-store.ts';

/** Connects a client to the file system named `fsname` (its MountName); the caller closes it. */
export type ConnectClient = (
  fsname: string,
  signal: AbortSignal,
) => Promise<FileSystemClient & { close(): Promise<void> }>;

/**
 * Backups of emulated file systems. `create` and `restore` may be re-run after a crash: a new run
 * replaces whatever a previous unfinished run left. `restore` expects an empty file system.
 */
export interface BackupService {
  /** Backs up `fsname` under `backupId`, storing only what `previousBackupId` (same file system) lacks. */
  create(
    req: { backupId: string; fsname: string; previousBackupId?: string | undefined },
    signal: AbortSignal,
    onProgress?: (percent: number) => void,
  ): Promise<{ sizeInBytes: number }>;
  restore(
    backupId: string,
    fsname: string,
    signal: AbortSignal,
    onProgress?: (percent: number) => void,
  ): Promise<void>;
  /** Removes the backup's data. Not an error when it has none. */
  delete(backupId: string): Promise<void>;
}

export class ChunkBackupService implements BackupService {
  readonly #store: BackupStore;
  readonly #connect: ConnectClient;

  constructor(store: BackupStore, connect: ConnectClient) {
    this.#store = store;
    this.#connect = connect;
  }

  async create(
    req: { backupId: string; fsname: string; previousBackupId?: string | undefined },
    signal: AbortSignal,
    onProgress?: (percent: number) => void,
  ): Promise<{ sizeInBytes: number }> {
    const previous = req.previousBackupId ? await this.#store.readManifest(req.previousBackupId) : undefined;
    const client = await this.#connect(req.fsname, signal);
    try {
      const st = await client.statfs(signal);
      const used = Math.max(1, (st.blocks - st.bfree) * st.frsize);
      const opts = {
        backupId: req.backupId,
        previous,
        signal,
        onProgress: (bytes: number) => onProgress?.(Math.min(99, Math.floor((100 * bytes) / used))),
      };
      // A client that can take snapshots gives a point-in-time backup; others one consistent per file.
      const { manifest } = canSnapshot(client)
        ? await takeSnapshotBackup(client, this.#store, opts)
        : await takeBackup(client, this.#store, opts);
      return { sizeInBytes: manifest.logicalBytes };
    } finally {
      await client.close();
    }
  }

  async restore(
    backupId: string,
    fsname: string,
    signal: AbortSignal,
    onProgress?: (percent: number) => void,
  ): Promise<void> {
    const manifest = await this.#store.readManifest(backupId);
    if (!manifest) throw new NacreError('CorruptBackup', `backup ${backupId} has no stored data`);
    const client = await this.#connect(fsname, signal);
    try {
      const total = Math.max(1, manifest.logicalBytes);
      await restoreBackup(client, this.#store, manifest, signal, (bytes) =>
        onProgress?.(Math.min(99, Math.floor((100 * bytes) / total))),
      );
    } finally {
      await client.close();
    }
  }

  delete(backupId: string): Promise<void> {
    return this.#store.deleteBackup(backupId);
  }
}
