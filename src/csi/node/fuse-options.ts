// Mount options of an emulated volume (StorageClass mountOptions, VolumeCapability mount_flags) → the FUSE keeper's flags; anything else is refused.
import { invalidArgument } from '../csi-error.ts';

/** Per-mount flags the kernel applies to the FUSE mount itself (mount(8) -o). */
const VFS_FLAGS = new Set([
  'ro',
  'rw',
  'noatime',
  'relatime',
  'strictatime',
  'nodiratime',
  'nosuid',
  'nodev',
  'noexec',
]);
/** Lustre's `flock`: flock(2) and fcntl locks coherent across clients — how Nacre's mounts always lock. */
const ALWAYS_ON = new Set(['flock']);
const ACCEPTED =
  'ro, rw, noatime, relatime, strictatime, nodiratime, nosuid, nodev, noexec, flock, cache=none, cached, hard, recovery=<seconds|hard>';

export interface FuseMountFlags {
  /** Flags for mount(8), e.g. ["ro", "noatime"]. */
  vfs: string[];
  /** Let the kernel cache under the MDS's locks (the default; false with `cache=none`, `nacre mount --no-cache`). */
  cached: boolean;
  /** How long I/O waits for a server that is down: seconds, or "hard" for ever. */
  recovery?: string;
}

function recovery(value: string): string {
  if (value === 'hard') return value;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw invalidArgument(`mount option recovery=${value} must be a number of seconds or "hard"`);
  }
  return String(n);
}

/**
 * Reads the mount flags of an emulated volume (each may hold several, comma-separated).
 * InvalidArgument names an option Nacre's FUSE client does not support, or contradictory ones
 * (ro with rw, two recovery values), instead of mounting without it.
 */
export function parseFuseMountFlags(flags: readonly string[]): FuseMountFlags {
  const out: FuseMountFlags = { vfs: [], cached: true };
  let caching: 'cached' | 'cache=none' | undefined;
  const options = flags
    .flatMap((f) => f.split(','))
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const option of options) {
    const [key = '', value] = option.split('=', 2) as [string, string | undefined];
    if (VFS_FLAGS.has(option)) {
      if (!out.vfs.includes(option)) out.vfs.push(option);
    } else if (ALWAYS_ON.has(option)) {
      // Nothing to switch on.
    } else if (option === 'cached' || option === 'cache=none') {
      // `cached` was the opt-in before caching became the default; it changes nothing now.
      if (caching !== undefined && caching !== option) {
        throw invalidArgument('mount options cached and cache=none contradict each other: keep one');
      }
      caching = option;
      out.cached = option === 'cached';
    } else if (option === 'hard' || (key === 'recovery' && value !== undefined)) {
      const r = option === 'hard' ? 'hard' : recovery(value ?? '');
      if (out.recovery !== undefined && out.recovery !== r) {
        throw invalidArgument(
          `mount options ask for two recovery times (${out.recovery} and ${r}): keep one`,
        );
      }
      out.recovery = r;
    } else {
      throw invalidArgument(
        `mount option "${option}" is not supported by Nacre's FUSE client (emulated volumes); it accepts ${ACCEPTED}`,
      );
    }
  }
  if (out.vfs.includes('ro') && out.vfs.includes('rw')) {
    throw invalidArgument('mount options ro and rw contradict each other: keep one');
  }
  return out;
}

/** The `nacre fuse-keeper` flags for these mount flags. */
export function fuseKeeperArgs(flags: FuseMountFlags): string[] {
  return [
    ...(flags.vfs.length > 0 ? ['--mount-options', flags.vfs.join(',')] : []),
    ...(flags.cached ? [] : ['--no-cache']),
    ...(flags.recovery !== undefined ? ['--recovery', flags.recovery] : []),
  ];
}
