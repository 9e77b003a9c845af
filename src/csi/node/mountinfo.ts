// /proc/self/mountinfo as the node service reads it: what is mounted where, from which device and sub-tree, read-only or not.
import { readFile } from 'node:fs/promises';

export interface MountEntry {
  id: number;
  parentId: number;
  /** `major:minor` of the file system: every bind of one mount shares it. */
  device: string;
  /** The directory of the file system this mount shows (`/` for a whole mount, `/sub` for a bind of a sub-directory). */
  root: string;
  mountPoint: string;
  /** Per-mount options (ro or rw first). */
  options: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

/** Undoes mountinfo's octal escapes (`\040` for a space). */
function unescapeField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** Parses mountinfo text; lines that do not have the documented shape are skipped. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f.length < sep + 4) continue;
    out.push({
      id: Number(f[0]),
      parentId: Number(f[1]),
      device: f[2] ?? '',
      root: unescapeField(f[3] ?? ''),
      mountPoint: unescapeField(f[4] ?? ''),
      options: (f[5] ?? '').split(','),
      fsType: f[sep + 1] ?? '',
      source: unescapeField(f[sep + 2] ?? ''),
      superOptions: (f[sep + 3] ?? '').split(','),
    });
  }
  return out;
}

/** The mount on top at `path` (the last one listed there), if any. */
export function mountAt(entries: readonly MountEntry[], path: string): MountEntry | undefined {
  let found: MountEntry | undefined;
  for (const e of entries) if (e.mountPoint === path) found = e;
  return found;
}

export function isReadOnly(e: MountEntry): boolean {
  return e.options.includes('ro');
}

/** Reads the mount table. Reading it never touches a mounted file system, so a hung mount cannot block it. */
export type MountTable = (signal?: AbortSignal) => Promise<MountEntry[]>;

export const procMountTable: MountTable = async (signal) =>
  parseMountinfo(await readFile('/proc/self/mountinfo', { encoding: 'utf8', ...(signal && { signal }) }));
