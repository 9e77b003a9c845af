// The mount's one caching switch, shared by `nacre mount`, `nacre up` and the FUSE keeper: caching is on unless --no-cache.
import { InvalidArgumentError, Option } from 'commander';

export interface CacheFlags {
  /** false with --no-cache. */
  cache?: boolean;
  /** --cached: the old opt-in, accepted and ignored (caching is the default). */
  cached?: boolean;
}

/** --no-cache: the mount caches nothing in the kernel. */
export function noCacheOption(): Option {
  return new Option(
    '--no-cache',
    "cache nothing in the kernel: direct I/O, zero cache timeouts (writes still take the MDS's data locks, so caching mounts elsewhere stay coherent)",
  );
}

/** --cached: accepted for compatibility; caching under the MDS's locks is the default. */
export function cachedAliasOption(): Option {
  return new Option('--cached', 'the default (page cache under the MDS data locks); kept for compatibility');
}

/** Whether the mount caches; --cached with --no-cache is refused. */
export function cachesData(flags: CacheFlags): boolean {
  if (flags.cache === false && flags.cached) {
    throw new InvalidArgumentError('--cached and --no-cache contradict each other: keep one');
  }
  return flags.cache !== false;
}
