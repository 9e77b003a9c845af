// Checks of the MDS's RPC arguments beyond the protocol's basics: credentials, locks, setattr changes, layout policies.
import { FsError } from '../../lib/errors.ts';
import { type Args, asArgs, bool, int, num, str } from '../protocol/args.ts';
import type { Credentials, FileLock, LayoutPolicy, SetAttrChanges, TimeSpec } from '../types.ts';

const ID_MAX = 2 ** 32 - 1;
const MAX_GROUPS = 65_536;

function bad(key: string, want: string): FsError {
  return new FsError('EINVAL', `argument "${key}" must be ${want}`);
}

/** An integer in [min, max]. */
export function intIn(a: Args, key: string, min: number, max: number): number {
  const v = int(a, key, { min });
  if (v > max) throw bad(key, `an integer <= ${max}`);
  return v;
}

/** An inode number (>= 1). */
export function ino(a: Args, key = 'ino'): number {
  return int(a, key, { min: 1 });
}

/** A name: a string; its length and characters are the namespace's to judge (ENAMETOOLONG, EINVAL). */
export function name(a: Args, key = 'name'): string {
  return str(a, key, 8192);
}

export function cred(a: Args): Credentials {
  const c = asArgs(a['cred']);
  const groups = c['groups'] ?? [];
  if (!Array.isArray(groups) || groups.length > MAX_GROUPS) throw bad('cred.groups', 'an array of gids');
  for (const g of groups) {
    if (typeof g !== 'number' || !Number.isSafeInteger(g) || g < 0 || g > ID_MAX)
      throw bad('cred.groups', 'an array of gids');
  }
  return { uid: intIn(c, 'uid', 0, ID_MAX), gid: intIn(c, 'gid', 0, ID_MAX), groups: groups as number[] };
}

export function lockType(a: Args, key: string): FileLock['type'] {
  const t = a[key];
  if (t !== 'read' && t !== 'write' && t !== 'unlock') throw bad(key, '"read", "write" or "unlock"');
  return t;
}

export function lock(a: Args): FileLock {
  const l = asArgs(a['lock']);
  return {
    type: lockType(l, 'type'),
    start: int(l, 'start'),
    end: int(l, 'end'),
    pid: int(l, 'pid'),
  };
}

function time(c: Args, key: string): TimeSpec | undefined {
  const v = c[key];
  if (v === undefined || v === null) return undefined;
  if (v === 'now') return 'now';
  return num(c, key);
}

export function changes(a: Args): SetAttrChanges {
  const c = asArgs(a['changes']);
  const out: SetAttrChanges = {};
  if (c['mode'] !== undefined) out.mode = intIn(c, 'mode', 0, 0o177777);
  if (c['uid'] !== undefined) out.uid = intIn(c, 'uid', 0, ID_MAX);
  if (c['gid'] !== undefined) out.gid = intIn(c, 'gid', 0, ID_MAX);
  if (c['size'] !== undefined) out.size = int(c, 'size');
  if (c['killSetId'] !== undefined) out.killSetId = bool(c, 'killSetId');
  if (c['fh'] !== undefined) out.fh = int(c, 'fh', { min: 1 });
  const atime = time(c, 'atimeMs');
  const mtime = time(c, 'mtimeMs');
  if (atime !== undefined) out.atimeMs = atime;
  if (mtime !== undefined) out.mtimeMs = mtime;
  if (c['ctimeMs'] !== undefined) out.ctimeMs = num(c, 'ctimeMs');
  return out;
}

export function policy(a: Args): LayoutPolicy {
  const p = asArgs(a['policy']);
  const out: LayoutPolicy = {
    stripeSize: int(p, 'stripeSize', { min: 1 }),
    stripeCount: int(p, 'stripeCount', { min: -1 }),
    stripeOffset: int(p, 'stripeOffset', { min: -1 }),
  };
  if (p['localFirst'] !== undefined) out.localFirst = bool(p, 'localFirst');
  return out;
}

/** Base64 text decoded; EINVAL if it is not base64. */
export function base64(a: Args, key: string, maxBytes: number): Buffer {
  const s = str(a, key, Math.ceil((maxBytes * 4) / 3) + 8);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw bad(key, 'base64');
  return Buffer.from(s, 'base64');
}
