// Creating a file system at the MGS once its servers have registered, or finding it again.
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineExceededError, FsError, NacreError } from '../../lib/errors.ts';
import { MgsClient } from '../protocol/mgs-client.ts';
import type { CreateFileSystemRequest, FileSystemConfig } from '../protocol/mgs-messages.ts';

/**
 * Returns the file system's config, creating it first if the MGS does not know it. Servers
 * register a moment after they listen: before creating, this waits (until `timeoutMs`) for
 * `ossServers` OSS servers to be registered, so the OSTs spread over all of them.
 */
export async function ensureFileSystem(
  mgsAddress: string,
  req: CreateFileSystemRequest,
  opts: { ossServers?: number; timeoutMs?: number } = {},
): Promise<FileSystemConfig> {
  const mgs = new MgsClient({ address: mgsAddress });
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  try {
    for (;;) {
      const registered = (await mgs.listServers()).filter((s) => s.role === 'oss').length;
      if (registered >= (opts.ossServers ?? 0)) break;
      if (Date.now() > deadline) {
        throw new DeadlineExceededError(
          `only ${registered} of ${opts.ossServers} OSS servers registered in time`,
        );
      }
      await sleep(100);
    }
    for (;;) {
      try {
        return await mgs.getConfig(req.fsname);
      } catch (err) {
        if (!(err instanceof FsError) || err.code !== 'ENOENT') throw err;
      }
      try {
        return await mgs.createFileSystem(req);
      } catch (err) {
        const waiting = err instanceof NacreError && err.code === 'InsufficientServers';
        if (!waiting) throw err;
        if (Date.now() > deadline) {
          throw new DeadlineExceededError(
            `servers for "${req.fsname}" did not register in time: ${err.message}`,
          );
        }
        await sleep(200);
      }
    }
  } finally {
    mgs.close();
  }
}
