// The options a FUSE session is started with and the counters it reports.
import type { Logger } from '../../lib/log.ts';
import type { FileSystemClient } from '../types.ts';
import type { AdoptedInit } from './adopt.ts';
import type { CacheTimeouts } from './codec-out.ts';
import type { GroupResolver } from './credentials.ts';

export interface SessionOptions {
  client: FileSystemClient;
  /** Concurrent blocking reads on the descriptor; each holds a libuv threadpool thread. */
  readers: number;
  directIo: boolean;
  timeouts: CacheTimeouts;
  maxWrite: number;
  groups?: GroupResolver;
  log: Logger;
  /** How long an INTERRUPT waits for its request to show up before the kernel is told to resend it (default 1 s). */
  interruptGraceMs?: number;
  /**
   * Serve a connection a previous daemon initialized (this one inherited its /dev/fuse descriptor):
   * no INIT is awaited, the kernel is asked to resend the requests the previous daemon read but
   * never answered, and a file handle the kernel got from it is reopened by inode on first use.
   */
  adopt?: AdoptedInit;
  /**
   * The kernel forgot `ino` (its lookup count here reached zero: it evicted the inode, pages and
   * all). Not called on an adopted connection, whose counts began with the previous daemon's.
   */
  onForgotten?: (ino: number) => void;
}

/** Counters a caller can look at (tests, debug endpoints). */
export interface SessionStats {
  inFlight: number;
  openHandles: number;
  /** Inodes the kernel holds lookup references to. */
  knownInodes: number;
}
