// FUSE_INIT negotiation: which protocol minor and which capabilities the session asks the kernel for.
import { FsError } from '../../lib/errors.ts';
import { decodeInitIn } from './codec-in.ts';
import { encodeInitOut } from './codec-out.ts';
import {
  FUSE_KERNEL_MINOR_VERSION,
  FUSE_KERNEL_VERSION,
  FUSE_MIN_MINOR_VERSION,
  InitFlag,
  InitFlag2,
} from './protocol.ts';

const PAGE_SIZE = 4096;

/**
 * Capabilities we ask for (the kernel grants the ones it offers):
 * - ASYNC_READ, ASYNC_DIO, PARALLEL_DIROPS: many requests in flight, as the session serves them concurrently;
 * - BIG_WRITES, MAX_PAGES: 1 MiB reads and writes;
 * - POSIX_LOCKS, FLOCK_LOCKS: fcntl and flock locks go to the file system (cluster-wide locking);
 * - ATOMIC_O_TRUNC: O_TRUNC arrives with OPEN, so the client truncates in the same call;
 * - EXPORT_SUPPORT: lookups of "." and ".." (NFS re-export);
 * - DO_READDIRPLUS, READDIRPLUS_AUTO: attributes with directory listings when the kernel wants them;
 * - AUTO_INVAL_DATA: cached pages are dropped when a getattr shows another client changed the file.
 * - HANDLE_KILLPRIV_V2: writes, truncates and chowns say when they must clear set-ID bits, and the
 *   file system clears them by Linux's rules (S_ISGID also for callers outside the file's group,
 *   which the kernel's own SETATTR fallback misses; direct-I/O writes have no fallback at all).
 * Not asked: WRITEBACK_CACHE (breaks cross-client coherency), DONT_MASK (the kernel applies the
 * umask before sending modes).
 */
export const WANTED_FLAGS =
  InitFlag.ASYNC_READ |
  InitFlag.POSIX_LOCKS |
  InitFlag.ATOMIC_O_TRUNC |
  InitFlag.EXPORT_SUPPORT |
  InitFlag.BIG_WRITES |
  InitFlag.FLOCK_LOCKS |
  InitFlag.AUTO_INVAL_DATA |
  InitFlag.DO_READDIRPLUS |
  InitFlag.READDIRPLUS_AUTO |
  InitFlag.ASYNC_DIO |
  InitFlag.PARALLEL_DIROPS |
  InitFlag.MAX_PAGES |
  InitFlag.HANDLE_KILLPRIV_V2;

/** DIRECT_IO_ALLOW_MMAP: programs can mmap(MAP_SHARED) files opened with FOPEN_DIRECT_IO (SQLite's -shm file). */
export const WANTED_FLAGS2 = InitFlag2.DIRECT_IO_ALLOW_MMAP;

export interface InitResult {
  /** The INIT reply body. */
  reply: Buffer;
  /** False when the kernel offered a newer major version and will send INIT again. */
  done: boolean;
  minor: number;
  /** Granted capabilities as a 64-bit word. */
  flags: bigint;
}

/**
 * Answers the kernel's INIT. Throws FsError('EPROTO'-like EINVAL) for a protocol too old to speak.
 * `pageCache`: the file system keeps the kernel's pages coherent itself (client/data-locks.ts), so
 * AUTO_INVAL_DATA is not asked for: with zero attribute timeouts it costs a GETATTR per read(2).
 */
export function handleInit(body: Buffer, maxWrite: number, pageCache = false): InitResult {
  const init = decodeInitIn(body);
  if (init.major > FUSE_KERNEL_VERSION) {
    const reply = encodeInitOut({
      minor: FUSE_KERNEL_MINOR_VERSION,
      maxReadahead: 0,
      flags: 0,
      flags2: 0,
      maxBackground: 0,
      congestionThreshold: 0,
      maxWrite: 0,
      timeGran: 0,
      maxPages: 0,
    });
    return { reply, done: false, minor: FUSE_KERNEL_MINOR_VERSION, flags: 0n };
  }
  if (init.major < FUSE_KERNEL_VERSION || init.minor < FUSE_MIN_MINOR_VERSION) {
    throw new FsError(
      'EINVAL',
      `kernel FUSE protocol ${init.major}.${init.minor} is older than 7.${FUSE_MIN_MINOR_VERSION}`,
    );
  }
  let flags = init.flags & WANTED_FLAGS & (pageCache ? ~InitFlag.AUTO_INVAL_DATA : ~0);
  let flags2 = 0;
  if (init.flags & InitFlag.INIT_EXT) {
    flags2 = init.flags2 & WANTED_FLAGS2;
    if (flags2) flags |= InitFlag.INIT_EXT;
  }
  const minor = Math.min(init.minor, FUSE_KERNEL_MINOR_VERSION);
  const reply = encodeInitOut({
    minor,
    maxReadahead: init.maxReadahead,
    flags,
    flags2,
    maxBackground: 64,
    congestionThreshold: 48,
    maxWrite,
    timeGran: 1,
    maxPages: Math.ceil(maxWrite / PAGE_SIZE),
  });
  return { reply, done: true, minor, flags: (BigInt(flags2) << 32n) | BigInt(flags >>> 0) };
}
