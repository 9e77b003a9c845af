// The file system's stripe placement (local-first or spread) under every directory's striping: placement is the allocator's, like Lustre's QoS, not a directory's.
import type { LayoutPolicy } from '../types.ts';

/** How a file system places new files' stripes when no stripeOffset pins them. */
export type Placement = 'local-first' | 'spread';

export const PLACEMENTS: readonly Placement[] = ['local-first', 'spread'];

/** The default-layout fields a file system created with `placement` carries (spread: none, as before placements). */
export function placementLayout(placement: Placement): Partial<LayoutPolicy> {
  return placement === 'local-first' ? { localFirst: true } : {};
}

/**
 * The policy a new file in a directory gets: the directory's striping (its own, inherited, or the
 * file system's default) with the file system's placement, unless the directory chose one itself.
 */
export function withPlacement(dir: LayoutPolicy, fileSystem: Partial<LayoutPolicy>): LayoutPolicy {
  if (dir.localFirst !== undefined || fileSystem.localFirst === undefined) return dir;
  return { ...dir, localFirst: fileSystem.localFirst };
}
