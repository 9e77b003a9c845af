// The seam between the FSx API and the MGS: allocating, growing and destroying a file system's targets, and FSx GiB → emulated bytes.
import { FsError } from '../../../lib/errors.ts';
import { MgsClient } from '../../../lustre/protocol/mgs-client.ts';
import type { CreateFileSystemRequest, FileSystemConfig } from '../../../lustre/protocol/mgs-messages.ts';
import type { RootSquash } from '../../../lustre/protocol/root-squash.ts';

/**
 * Where a file system's MDT and OSTs come from. Implementations talk to the MGS (or fake it in
 * tests). Every call takes an AbortSignal and must not outlive it. Errors: UnavailableError or
 * DeadlineExceededError when the MGS could not be reached (the caller retries), any other error
 * when the request itself cannot succeed (the file system becomes FAILED).
 */
export interface TargetAllocator {
  /**
   * Creates the MDT and `ostCount` OSTs of a new file system and returns its config. Retry-safe:
   * calling it again with the same request finishes an interrupted creation.
   */
  createFileSystem(req: CreateFileSystemRequest, signal: AbortSignal): Promise<FileSystemConfig>;
  /** Adds `count` OSTs of `ostCapacityBytes` each (capacity growth). */
  addOsts(
    fsname: string,
    count: number,
    ostCapacityBytes: number,
    signal: AbortSignal,
  ): Promise<FileSystemConfig>;
  /** Destroys every target and its data. Not an error when the file system does not exist. */
  destroyFileSystem(fsname: string, signal: AbortSignal): Promise<void>;
  /** The file system's config, or undefined when the MGS does not know it. */
  getConfig(fsname: string, signal: AbortSignal): Promise<FileSystemConfig | undefined>;
  /** Sets (null: clears) root squash of a created file system; absent where the backend has none. */
  setRootSquash?(fsname: string, rootSquash: RootSquash | null, signal: AbortSignal): Promise<void>;
}

/** Default emulated bytes per FSx GiB: 1 MiB, so a 1200 GiB file system gets 1200 MiB of real space. */
export const DEFAULT_CAPACITY_SCALE = 1024 * 1024;

/**
 * FSx scales a Lustre file system in units of about 1.2 TiB; the emulator gives each unit one OST,
 * and at least one per replica, since a stripe's mirror lives on another OST.
 */
export function ostCountFor(storageCapacityGiB: number, replicas = 1): number {
  return Math.max(replicas, Math.floor(storageCapacityGiB / 1200));
}

/** Emulated bytes of `gib` FSx GiB split over `osts` OSTs (rounded down to whole bytes). */
export function ostCapacityBytes(gib: number, osts: number, capacityScale: number): number {
  return Math.floor((gib * capacityScale) / osts);
}

/** SCRATCH keeps one copy of each object, PERSISTENT two on distinct servers. */
export function replicasFor(deploymentType: string): number {
  return deploymentType.startsWith('PERSISTENT') ? 2 : 1;
}

/** A TargetAllocator over the MGS's typed client. */
export class MgsTargetAllocator implements TargetAllocator {
  readonly #mgs: MgsClient;

  /** `address` is the MGS's "host:port". Calls time out after `timeoutMs` (default 60 s: creation waits for the OSS servers). */
  constructor(address: string, opts: { timeoutMs?: number } = {}) {
    this.#mgs = new MgsClient({ address, timeoutMs: opts.timeoutMs ?? 60_000 });
  }

  /** Retry-safe: the MGS finishes a create it had begun with the same parameters. */
  createFileSystem(req: CreateFileSystemRequest, signal: AbortSignal): Promise<FileSystemConfig> {
    return this.#mgs.createFileSystem(req, signal);
  }

  addOsts(
    fsname: string,
    count: number,
    ostCapacityBytes: number,
    signal: AbortSignal,
  ): Promise<FileSystemConfig> {
    return this.#mgs.addOsts(fsname, count, ostCapacityBytes, signal);
  }

  async destroyFileSystem(fsname: string, signal: AbortSignal): Promise<void> {
    await this.#mgs.destroyFileSystem(fsname, signal);
  }

  async getConfig(fsname: string, signal: AbortSignal): Promise<FileSystemConfig | undefined> {
    try {
      return await this.#mgs.getConfig(fsname, signal);
    } catch (err) {
      if (err instanceof FsError && err.code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async setRootSquash(fsname: string, rootSquash: RootSquash | null, signal: AbortSignal): Promise<void> {
    await this.#mgs.setRootSquash(fsname, rootSquash, signal);
  }

  close(): void {
    this.#mgs.close();
  }
}
