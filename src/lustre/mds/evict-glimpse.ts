// Sizes an evicted writer never reported: before its handles go, the MDS asks the OSTs (a glimpse) and grows the inodes to match.
import type { DatabaseSync } from 'node:sqlite';
import type { Logger } from '../../lib/log.ts';
import type { Layout } from '../types.ts';
import { blocksFor, type Effects } from './inodes.ts';
import type { Namespace } from './namespace.ts';
import { pendingPunch } from './punches.ts';
import { epochOf } from './size-epochs.ts';
import { withStale } from './stale.ts';
import type { Store } from './store.ts';

/** A file's size as its OST objects tell it: the largest object end over the stripes. */
export type Glimpse = (ino: number, layout: Layout, signal: AbortSignal) => Promise<number>;

const GLIMPSE_TIMEOUT_MS = 10_000;

/**
 * Clients write to the OSTs without telling the MDS and report sizes at close and fsync, so a
 * client that disappears can leave files whose objects end past the size recorded here. For each
 * regular file `client` has open for writing, the objects' size; `failed` counts the files whose
 * OSTs did not answer (no entry: each failure is logged).
 */
export async function unreportedSizes(
  deps: { store: Store; ns: Namespace; db: DatabaseSync; glimpse: Glimpse; log: Logger },
  client: string,
): Promise<{ sizes: Map<number, number>; failed: number; epochs: Map<number, number> }> {
  const inos = new Set(
    deps.store
      .handlesOf(client)
      .filter((h) => (h.flags & 3) !== 0)
      .map((h) => h.ino),
  );
  const out = new Map<number, number>();
  // Each inode's epoch before its glimpse: a truncate committed meanwhile voids the glimpsed size.
  const epochs = new Map([...inos].map((ino) => [ino, epochOf(deps.db, ino)]));
  let failed = 0;
  await Promise.all(
    [...inos].map(async (ino) => {
      try {
        const layout = withStale(deps.db, ino, deps.ns.getLayout(ino));
        if (!layout) return;
        out.set(ino, await deps.glimpse(ino, layout, AbortSignal.timeout(GLIMPSE_TIMEOUT_MS)));
      } catch (err) {
        failed++;
        deps.log.warn('cannot read the size of an evicted writer’s file from its OSTs', {
          client,
          ino,
          error: String(err),
        });
      }
    }),
  );
  return { sizes: out, failed, epochs };
}

/**
 * Inside the eviction's transaction: each inode grows to its glimpsed size (never shrinks), unless
 * a truncate came between the glimpse and now (its epoch moved on, or its punch is still pending):
 * the glimpse then saw bytes the truncate dropped.
 */
export function growTo(
  ns: Namespace,
  store: Store,
  fx: Effects,
  sizes: Map<number, number>,
  epochs: Map<number, number>,
): void {
  for (const [ino, size] of sizes) {
    if (epochOf(store.db, ino) !== epochs.get(ino) || pendingPunch(store.db, ino) !== undefined) continue;
    let row: ReturnType<Namespace['inode']>;
    try {
      row = ns.inode(ino);
    } catch {
      continue; // destroyed meanwhile
    }
    if (size <= row.size) continue;
    row.size = size;
    row.blocks = blocksFor(size);
    store.updateInode(row);
    fx.inode(ino, true);
  }
}
