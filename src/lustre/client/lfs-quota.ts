// `nacre lfs project | setquota | quota`: Lustre's project-quota commands over a client, returning the text to print.
import { type QuotaInfo, type QuotaLimits, ROOT_CREDENTIALS, S_IFDIR, S_IFMT } from '../types.ts';
import { type LfsTarget, shown, withClient } from './lfs.ts';
import type { LustreClient } from './lustre-client.ts';

export interface ProjectOptions {
  /** -p: the project ID to set; absent: show. */
  projectId?: number;
  /** -s: directories pass the ID on to new children (PROJINHERIT). */
  inherit?: boolean;
  /** -C: clear the ID (back to 0) and the inherit flag. */
  clear?: boolean;
  /** -r: every file and directory below too. */
  recursive?: boolean;
  /** -d: show a directory itself rather than its entries. */
  directory?: boolean;
}

interface Node {
  ino: number;
  isDir: boolean;
  /** Path inside the file system. */
  path: string;
}

/**
 * lfs project. With -p, -s or -C: sets (or clears) the project ID (-s alone: the path's own), and
 * with -s the inherit flag of directories, on the path (and with -r on everything below it);
 * prints nothing. Without them:
 * lists "<ID> <P|-> <path>" for a file, or for a directory's entries (the directory itself with -d),
 * recursing with -r.
 */
export function lfsProject(t: LfsTarget, o: ProjectOptions): Promise<string> {
  return withClient(t, async (c) => {
    const attr = await c.resolvePath(t.path, t.signal);
    const top: Node = { ino: attr.ino, isDir: (attr.mode & S_IFMT) === S_IFDIR, path: t.path };
    if (o.projectId !== undefined || o.clear || o.inherit) {
      // -s alone keeps the path's own ID and passes it on (below it too, with -r).
      const id = o.clear ? 0 : (o.projectId ?? (await c.getProject(top.ino, t.signal)).projectId);
      const inherit = !o.clear && (o.inherit ?? false);
      await walk(c, top, o.recursive ?? false, t.signal, (n) =>
        c.setProject(ROOT_CREDENTIALS, n.ino, id, inherit && n.isDir, t.signal),
      );
      return '';
    }
    const lines: string[] = [];
    const show = async (n: Node) => {
      const p = await c.getProject(n.ino, t.signal);
      lines.push(`${String(p.projectId).padStart(5)} ${p.inherit ? 'P' : '-'} ${shown(t, n.path)}`);
    };
    if (!top.isDir || o.directory) await show(top);
    if (top.isDir && !o.directory) {
      for (const child of await entries(c, top, t.signal)) {
        await walk(c, child, o.recursive ?? false, t.signal, show);
      }
    }
    return lines.length > 0 ? `${lines.join('\n')}\n` : '';
  });
}

/** lfs setquota -p ID [-B bytes] [-I inodes]: the project's hard limits (0 = none); a limit not given stays. */
export function lfsSetquota(t: LfsTarget, projectId: number, limits: Partial<QuotaLimits>): Promise<string> {
  return withClient(t, async (c) => {
    const cur = await c.getQuota(projectId, t.signal);
    const next: QuotaLimits = {
      blockHardLimitBytes: limits.blockHardLimitBytes ?? cur.blockHardLimitBytes,
      inodeHardLimit: limits.inodeHardLimit ?? cur.inodeHardLimit,
    };
    await c.setQuota(projectId, next, t.signal);
    return '';
  });
}

/** lfs quota -p ID: usage and limits in Lustre's table (kbytes; no soft limits, so no grace). */
export function lfsQuota(t: LfsTarget, projectId: number): Promise<string> {
  return withClient(t, async (c) =>
    formatQuota(t.mountPoint ?? shown(t, ''), projectId, await c.getQuota(projectId, t.signal)),
  );
}

export function formatQuota(mountPoint: string, projectId: number, q: QuotaInfo): string {
  const kb = (n: number) => Math.ceil(n / 1024);
  const over = (used: number, limit: number) => (limit > 0 && used > limit ? '*' : '');
  const cols = [
    `${kb(q.blockUsageBytes)}${over(q.blockUsageBytes, q.blockHardLimitBytes)}`,
    '0',
    `${kb(q.blockHardLimitBytes)}`,
    '-',
    `${q.inodeUsage}${over(q.inodeUsage, q.inodeHardLimit)}`,
    '0',
    `${q.inodeHardLimit}`,
    '-',
  ];
  const head = ['kbytes', 'quota', 'limit', 'grace', 'files', 'quota', 'limit', 'grace'];
  const row = (first: string, rest: string[]) =>
    `${first.padStart(15)} ${rest.map((v) => v.padStart(7)).join(' ')}`;
  return [
    `Disk quotas for prj ${projectId} (pid ${projectId}):`,
    row('Filesystem', head),
    row(mountPoint, cols),
    '',
  ].join('\n');
}

/** Calls `fn` on `n` and, with `recursive`, on everything below it (directories before their entries). */
async function walk(
  c: LustreClient,
  n: Node,
  recursive: boolean,
  signal: AbortSignal | undefined,
  fn: (n: Node) => Promise<void>,
): Promise<void> {
  await fn(n);
  if (!recursive || !n.isDir) return;
  for (const child of await entries(c, n, signal)) await walk(c, child, true, signal, fn);
}

async function entries(c: LustreClient, dir: Node, signal: AbortSignal | undefined): Promise<Node[]> {
  const out: Node[] = [];
  let cookie = 0;
  for (;;) {
    const batch = await c.readdir(ROOT_CREDENTIALS, dir.ino, cookie, 1024, false, signal);
    if (batch.length === 0) return out;
    for (const e of batch) {
      cookie = e.cookie;
      if (e.name === '.' || e.name === '..') continue;
      out.push({ ino: e.ino, isDir: e.type === S_IFDIR, path: `${dir.path.replace(/\/+$/, '')}/${e.name}` });
    }
  }
}
