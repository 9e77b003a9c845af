// Creating a file system at the MGS once its servers have registered, or finding it again.
import { DeadlineExceededError, FsError, NacreError } from '../../lib/errors.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { MgsClient } from '../protocol/mgs-client.ts';
import type { CreateFileSystemRequest, FileSystemConfig } from '../protocol/mgs-messages.ts';

export interface EnsureFileSystemOptions {
  /** OSS servers that must have registered before creating, so the OSTs spread over all of them. */
  ossServers?: number;
  /** MDS servers that must have registered before creating (default 0: the MGS waits for one itself). */
  mdsServers?: number;
  /** Deadline for the servers to register and the file system to be created (default 30 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Returns the file system's config, creating it first if the MGS does not know it. Servers
 * register a moment after they listen: before creating, this waits (until `timeoutMs`) for
 * `ossServers` OSS and `mdsServers` MDS servers to be registered. Rejects with
 * DeadlineExceededError naming what did not register in time.
 */
export async function ensureFileSystem(
  mgsAddress: string,
  req: CreateFileSystemRequest,
  opts: EnsureFileSystemOptions = {},
): Promise<FileSystemConfig> {
  const mgs = new MgsClient({ address: mgsAddress });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const signal = opts.signal ? { signal: opts.signal } : {};
  try {
    const want = { oss: opts.ossServers ?? 0, mds: opts.mdsServers ?? 0 };
    let seen = { oss: 0, mds: 0 };
    await waitFor(
      `${want.oss} OSS and ${want.mds} MDS servers to register at the MGS ${mgsAddress}`,
      async () => {
        const servers = await mgs.listServers();
        const count = (role: string) => servers.filter((s) => s.role === role).length;
        seen = { oss: count('oss'), mds: count('mds') };
        return seen.oss >= want.oss && seen.mds >= want.mds;
      },
      { timeoutMs, intervalMs: 100, ...signal },
    ).catch((err: unknown) => {
      if (!(err instanceof DeadlineExceededError)) throw err;
      throw new DeadlineExceededError(
        `only ${seen.oss} of ${want.oss} OSS and ${seen.mds} of ${want.mds} MDS servers registered at ${mgsAddress} within ${timeoutMs} ms`,
      );
    });
    return await waitFor(
      `file system "${req.fsname}" to be created`,
      async () => {
        try {
          return await mgs.getConfig(req.fsname);
        } catch (err) {
          if (!(err instanceof FsError) || err.code !== 'ENOENT') throw err;
        }
        try {
          return await mgs.createFileSystem(req);
        } catch (err) {
          if (err instanceof NacreError && err.code === 'InsufficientServers') return undefined;
          throw err;
        }
      },
      { timeoutMs: Math.max(0, deadline - Date.now()), intervalMs: 200, ...signal },
    );
  } finally {
    mgs.close();
  }
}
