// Serving a FUSE connection a previous daemon initialized: which requests carry a file handle, and what an unknown one means.
import { Opcode, readU64 } from './protocol.ts';

/** What the previous daemon negotiated in INIT (the kernel sends INIT once per connection). */
export interface AdoptedInit {
  minor: number;
  flags: bigint;
}

/** Requests whose argument starts with the file handle (fuse_read_in, fuse_write_in, fuse_lk_in, …). */
const FH_FIRST: ReadonlySet<number> = new Set([
  Opcode.READ,
  Opcode.WRITE,
  Opcode.FLUSH,
  Opcode.RELEASE,
  Opcode.FSYNC,
  Opcode.GETLK,
  Opcode.SETLK,
  Opcode.SETLKW,
  Opcode.FALLOCATE,
]);

/**
 * On a handle the new daemon never opened these have nothing left to do: the dead daemon's client
 * state is gone. Not FSYNC: the objects may hold the dead daemon's unsynced writes, and fsync must
 * not succeed before they are durable, so it reopens the file and syncs every object.
 */
const NOTHING_LEFT: ReadonlySet<number> = new Set([Opcode.FLUSH, Opcode.RELEASE]);

const O_RDWR = 0o2;
const O_ACCMODE = 0o3;
const O_APPEND = 0o2000;

export interface HandleRequest {
  fh: number;
  /** Reply success without reopening (FLUSH, RELEASE of a handle this daemon never opened). */
  nothingLeft: boolean;
  /** Flags to reopen the inode with: the open's access mode and O_APPEND when the request says them, else O_RDWR. */
  reopenFlags: number;
}

/** The file handle a request names, if it names one; read synchronously, as the buffer is reused. */
export function handleRequest(opcode: number, body: Buffer): HandleRequest | undefined {
  if (!FH_FIRST.has(opcode) || body.length < 8) return undefined;
  const fh = readU64(body, 0);
  let reopenFlags = O_RDWR;
  // fuse_read_in and fuse_write_in carry the open flags at byte 32.
  if ((opcode === Opcode.READ || opcode === Opcode.WRITE) && body.length >= 36) {
    reopenFlags = body.readUInt32LE(32) & (O_ACCMODE | O_APPEND);
  }
  return { fh, nothingLeft: NOTHING_LEFT.has(opcode), reopenFlags };
}
