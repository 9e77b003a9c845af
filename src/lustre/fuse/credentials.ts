// Credentials of a FUSE request: uid and gid from the request header, supplementary groups from /proc/<pid>/status.
import { readFile } from 'node:fs/promises';
import type { Credentials } from '../types.ts';

/** Parses the `Groups:` line of /proc/<pid>/status ("Groups:\t4 24 27 \n"). */
export function parseGroups(status: string): number[] {
  const line = status.split('\n').find((l) => l.startsWith('Groups:'));
  if (!line) return [];
  return line
    .slice('Groups:'.length)
    .trim()
    .split(/\s+/)
    .filter((s) => s !== '')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n >= 0);
}

interface CachedGroups {
  uid: number;
  gid: number;
  groups: readonly number[];
  expires: number;
}

/**
 * Reads the caller's supplementary groups asynchronously (never on the mount itself: /proc is
 * another file system) and caches them per pid for `ttlMs`; a change of the request's uid or gid
 * for the same pid (setuid, setgid) rereads. A process that has gone, or pid 0 (a request the
 * kernel makes on its own behalf), gets no supplementary groups.
 */
export class GroupResolver {
  private readonly cache = new Map<number, CachedGroups>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly procRoot: string;

  constructor(opts: { ttlMs?: number; maxEntries?: number; procRoot?: string } = {}) {
    this.ttlMs = opts.ttlMs ?? 1000;
    this.maxEntries = opts.maxEntries ?? 4096;
    this.procRoot = opts.procRoot ?? '/proc';
  }

  async credentials(uid: number, gid: number, pid: number): Promise<Credentials> {
    if (pid === 0) return { uid, gid, groups: [] };
    const now = Date.now();
    const hit = this.cache.get(pid);
    if (hit && hit.expires > now && hit.uid === uid && hit.gid === gid) {
      return { uid, gid, groups: hit.groups };
    }
    let groups: number[] = [];
    try {
      groups = parseGroups(await readFile(`${this.procRoot}/${pid}/status`, 'utf8'));
    } catch {
      // The process exited or /proc is not readable: no supplementary groups.
    }
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(pid, { uid, gid, groups, expires: now + this.ttlMs });
    return { uid, gid, groups };
  }
}
