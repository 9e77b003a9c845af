// POSIX attributes as FSx for Lustre stores them in S3 user metadata (x-amz-meta-file-*), both ways.
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from '../types.ts';

/** What an object's metadata says about the file it holds (absent fields: not recorded). */
export interface PosixMetadata {
  uid?: number;
  gid?: number;
  /** Type and permission bits, e.g. 0o100644. */
  mode?: number;
  atimeMs?: number;
  mtimeMs?: number;
}

/** FSx's names (the SDK lowercases them and drops "x-amz-meta-"). */
export const META = {
  owner: 'file-owner',
  group: 'file-group',
  permissions: 'file-permissions',
  atime: 'file-atime',
  mtime: 'file-mtime',
} as const;

/** "1595002920000000000ns" → ms; also accepts plain ms/s numbers as some tools write them. */
function parseTime(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ns = /^(\d{1,22})ns$/.exec(v);
  if (ns) return Number(BigInt(ns[1]!) / 1_000_000n) + Number(BigInt(ns[1]!) % 1_000_000n) / 1e6;
  return undefined;
}

function formatTime(ms: number): string {
  const whole = Math.floor(ms);
  const frac = Math.round((ms - whole) * 1e6);
  return `${BigInt(whole) * 1_000_000n + BigInt(frac)}ns`;
}

function parseId(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d{1,10}$/.test(v)) return undefined;
  const n = Number(v);
  return n <= 0xffffffff ? n : undefined;
}

/** Reads the metadata; malformed values are ignored (the file gets defaults), never an error. */
export function parsePosixMetadata(meta: Readonly<Record<string, string>>): PosixMetadata {
  const out: PosixMetadata = {};
  const uid = parseId(meta[META.owner]);
  const gid = parseId(meta[META.group]);
  const perm = meta[META.permissions];
  const atime = parseTime(meta[META.atime]);
  const mtime = parseTime(meta[META.mtime]);
  if (uid !== undefined) out.uid = uid;
  if (gid !== undefined) out.gid = gid;
  if (perm !== undefined && /^0?[0-7]{1,7}$/.test(perm)) {
    const mode = Number.parseInt(perm, 8);
    const type = mode & S_IFMT;
    if (type === 0 || type === S_IFREG || type === S_IFDIR || type === S_IFLNK) out.mode = mode;
  }
  if (atime !== undefined) out.atimeMs = atime;
  if (mtime !== undefined) out.mtimeMs = mtime;
  return out;
}

/** The metadata FSx writes for a file, directory or symlink with these attributes. */
export function formatPosixMetadata(a: {
  uid: number;
  gid: number;
  mode: number;
  atimeMs: number;
  mtimeMs: number;
}): Record<string, string> {
  return {
    [META.owner]: String(a.uid),
    [META.group]: String(a.gid),
    [META.permissions]: `0${a.mode.toString(8)}`,
    [META.atime]: formatTime(a.atimeMs),
    [META.mtime]: formatTime(a.mtimeMs),
  };
}

/** Where a file's content is archived: the object and the version of it the file holds. */
export interface ArchiveLocation {
  bucket: string;
  key: string;
  etag: string;
}

export function formatLocation(l: ArchiveLocation): string {
  return JSON.stringify({ b: l.bucket, k: l.key, e: l.etag });
}

export function parseLocation(s: string | null): ArchiveLocation | undefined {
  if (!s) return undefined;
  try {
    const v = JSON.parse(s) as { b?: unknown; k?: unknown; e?: unknown };
    if (typeof v.b === 'string' && typeof v.k === 'string' && typeof v.e === 'string')
      return { bucket: v.b, key: v.k, etag: v.e };
  } catch {
    return undefined;
  }
  return undefined;
}
