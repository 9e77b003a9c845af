// The OSS's RPC surface: OST objects addressed by (target, object id), bulk data as the raw payload.
//
// An object id is "<ino>.<stripe index>" (the inode's FID and the stripe, as Lustre addresses OST objects).
// Reads past the end of an object return fewer bytes (a hole at the end reads as nothing); the client
// fills holes with zeros up to the file size from the MDS.

export interface StatTarget {
  target: string;
  capacityBytes: number;
  usedBytes: number;
  availBytes: number;
  objects: number;
}

export interface OssMethods {
  /** Creates an OST on this server (idempotent for the same target and capacity). */
  createTarget: { args: { target: string; capacityBytes: number }; result: null };
  /** Removes an OST and all its objects. Not an error if it does not exist. */
  destroyTarget: { args: { target: string }; result: null };
  /** payload = the data. ENOSPC when the target's capacity would be exceeded. Durable against a process kill on return. */
  write: {
    args: { target: string; object: string; offset: number; sync?: boolean };
    result: { written: number };
  };
  /** Reply payload = up to `length` bytes at `offset` (fewer at the object's end; none for a missing object). */
  read: {
    args: { target: string; object: string; offset: number; length: number };
    result: { length: number };
  };
  /** Sets the object's size (truncate or extend with a hole); creates it if missing. */
  punch: { args: { target: string; object: string; size: number }; result: null };
  /** fsync of the object. Not an error for a missing object. */
  sync: { args: { target: string; object: string }; result: null };
  /** Removes objects; missing ones are ignored. */
  destroy: { args: { target: string; objects: string[] }; result: null };
  getattr: { args: { target: string; object: string }; result: { size: number; blocks: number } | null };
  statfs: { args: { target: string }; result: StatTarget };
}

export type OssMethod = keyof OssMethods;
