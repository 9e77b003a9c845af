// The mount's caching switches, shared by `nacre mount`, `nacre up` and the FUSE keeper: data and metadata caching are on unless --no-cache.
import { InvalidArgumentError, Option } from 'commander';

export interface CacheFlags {
  /** false with --no-cache. */
  cache?: boolean;
  /** --cached: the old opt-in, accepted and ignored (caching is the default). */
  cached?: boolean;
  /** true with --cache-metadata (the old opt-in, now the default), false with --no-cache-metadata. */
  cacheMetadata?: boolean;
}

/** --no-cache: the mount caches nothing in the kernel. */
export function noCacheOption(): Option {
  return new Option(
    '--no-cache',
    "cache nothing: direct I/O, zero cache timeouts, no names or attributes kept (writes still take the MDS's data locks, so caching mounts elsewhere stay coherent)",
  );
}

/** --cached: accepted for compatibility; caching under the MDS's locks is the default. */
export function cachedAliasOption(): Option {
  return new Option(
    '--cached',
    'the default (page cache under the MDS data locks, names and attributes under its LOOKUP/UPDATE locks); kept for compatibility',
  );
}

/** --cache-metadata: the old opt-in, accepted; metadata caching is the default wherever data is cached. */
export function cacheMetadataAliasOption(): Option {
  return new Option(
    '--cache-metadata',
    "the default (names, negative entries and attributes cached under the MDS's LOOKUP/UPDATE locks); kept for compatibility",
  );
}

/** --no-cache-metadata: keep caching file pages, but ask the MDS for every lookup and stat. */
export function noCacheMetadataOption(): Option {
  return new Option(
    '--no-cache-metadata',
    'cache file pages but not names or attributes: every lookup and stat asks the MDS (for mounts that change names in directories other mounts change at once, where each change calls the other mounts back)',
  );
}

/** Whether the mount caches; --cached with --no-cache is refused. */
export function cachesData(flags: CacheFlags): boolean {
  if (flags.cache === false && flags.cached) {
    throw new InvalidArgumentError('--cached and --no-cache contradict each other: keep one');
  }
  return flags.cache !== false;
}

/** Whether the mount caches names and attributes: with data caching unless --no-cache-metadata; --cache-metadata with --no-cache is refused. */
export function cachesMetadata(flags: CacheFlags): boolean {
  const data = cachesData(flags);
  if (!data && flags.cacheMetadata === true) {
    throw new InvalidArgumentError('--cache-metadata and --no-cache contradict each other: keep one');
  }
  return data && flags.cacheMetadata !== false;
}
