// FSx's RootSquashConfiguration as the MGS's root-squash setting: created with the file system, changed by UpdateFileSystem.
import type { RootSquash } from '../../../lustre/protocol/root-squash.ts';
import type { ApiContext } from '../context.ts';
import type { FileSystem } from '../model.ts';
import type { RootSquashInput } from './lustre-config.ts';

/** "UID:GID" and NoSquashNids → the MGS setting; absent or "0:0" (FSx's "disabled") → undefined. */
export function mgsRootSquash(c: RootSquashInput | undefined): RootSquash | undefined {
  const m = c?.RootSquash ? /^(\d+):(\d+)$/.exec(c.RootSquash) : null;
  if (!m || (m[1] === '0' && m[2] === '0')) return undefined;
  return { uid: Number(m[1]), gid: Number(m[2]), nosquashNids: c?.NoSquashNids ?? [] };
}

/**
 * Hands an UpdateFileSystem's RootSquashConfiguration to the MGS of an AVAILABLE file system (one
 * still being created gets it with its creation). Rejects when the MGS does not take it within 10 s,
 * so the caller learns the setting is not in force yet.
 */
export async function pushRootSquash(ctx: ApiContext, fs: FileSystem): Promise<void> {
  if (fs.Lifecycle !== 'AVAILABLE' || !ctx.allocator.setRootSquash) return;
  const squash = mgsRootSquash(fs.LustreConfiguration.RootSquashConfiguration);
  await ctx.allocator.setRootSquash(
    fs.LustreConfiguration.MountName,
    squash ?? null,
    AbortSignal.timeout(10_000),
  );
}
