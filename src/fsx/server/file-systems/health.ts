// FSx's MISCONFIGURED state for the emulator: an AVAILABLE file system whose targets the MGS no longer knows, and its recovery.
import { logger } from '../../../lib/log.ts';
import type { ApiContext } from '../context.ts';

const LOST = 'The MGS has no record of this file system; its targets are unreachable.';

/**
 * Asks the MGS about every AVAILABLE or MISCONFIGURED file system without a job: a file system the
 * MGS does not know becomes MISCONFIGURED (recoverable), and AVAILABLE again once the MGS knows it.
 * An MGS that cannot be reached changes nothing. Returns the ids whose state changed.
 */
export async function healthTick(ctx: ApiContext, signal: AbortSignal): Promise<string[]> {
  const changed: string[] = [];
  for (const rec of Object.values(ctx.store.state.fileSystems)) {
    const fs = rec.fs;
    if (rec.job || (fs.Lifecycle !== 'AVAILABLE' && fs.Lifecycle !== 'MISCONFIGURED')) continue;
    let known: boolean;
    try {
      known = (await ctx.allocator.getConfig(fs.LustreConfiguration.MountName, signal)) !== undefined;
    } catch {
      continue;
    }
    if (rec.job || (fs.Lifecycle !== 'AVAILABLE' && fs.Lifecycle !== 'MISCONFIGURED')) continue;
    if (!known && fs.Lifecycle === 'AVAILABLE') {
      fs.Lifecycle = 'MISCONFIGURED';
      fs.FailureDetails = { Message: LOST };
      changed.push(fs.FileSystemId);
    } else if (known && fs.Lifecycle === 'MISCONFIGURED') {
      fs.Lifecycle = 'AVAILABLE';
      delete fs.FailureDetails;
      changed.push(fs.FileSystemId);
    }
  }
  if (changed.length) await ctx.store.commit();
  return changed;
}

/** Runs `healthTick` every `intervalMs` until the returned function is called. */
export function startHealthChecks(ctx: ApiContext, intervalMs: number): () => void {
  const log = logger('fsx-api');
  const stop = new AbortController();
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    healthTick(ctx, AbortSignal.any([stop.signal, AbortSignal.timeout(Math.max(intervalMs, 10_000))]))
      .then((changed) => {
        if (changed.length) log.warn('file system health changed', { fileSystemIds: changed });
      })
      .catch((err: unknown) => log.error('health check failed', { error: String(err) }))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => {
    stop.abort();
    clearInterval(timer);
  };
}
