// `nacre lfs setstripe | getstripe | df`: the work behind Lustre's lfs commands, returning the text to print.
import { FsError } from '../../lib/errors.ts';
import type { MdsMethods } from '../protocol/mds-messages.ts';
import { type Layout, type LayoutPolicy, ROOT_CREDENTIALS, S_IFDIR, S_IFMT } from '../types.ts';
import { connectLustre, type LustreClient, type OstUsage } from './lustre-client.ts';

/** A path inside a file system, and how to reach that file system. */
export interface LfsTarget {
  mgsAddress: string;
  fsname: string;
  /** Absolute path inside the file system, e.g. "/dir/file". */
  path: string;
  /** Where the file system is mounted, shown in front of paths; default "<mgs>@tcp:/<fsname>". */
  mountPoint?: string;
  /** This node (servers on it are reached over unix sockets). Default "lfs". */
  host?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface SetstripeOptions {
  /** -c: stripes per file; -1 for every OST. */
  stripeCount: number;
  /** -S: bytes per stripe (a multiple of 64 KiB). */
  stripeSize: number;
  /** -i: first OST index; -1 (default) lets the MDS choose. */
  stripeOffset?: number;
}

const O_WRONLY = 0o1;
const O_EXCL = 0o200;

/** Runs `fn` with a client of the target's file system, closing it afterwards. */
export async function withClient<T>(t: LfsTarget, fn: (c: LustreClient) => Promise<T>): Promise<T> {
  const client = await connectLustre({
    mgsAddress: t.mgsAddress,
    fsname: t.fsname,
    host: t.host ?? 'lfs',
    ...(t.signal && { signal: t.signal }),
    ...(t.timeoutMs !== undefined && { timeoutMs: t.timeoutMs }),
  });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export function shown(t: Pick<LfsTarget, 'mountPoint' | 'mgsAddress' | 'fsname'>, path: string): string {
  const root = t.mountPoint ?? `${t.mgsAddress}@tcp:/${t.fsname}`;
  return `${root.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/** lfs setstripe: a directory's default for new files, an empty file's layout, or a new empty file with it. */
export function lfsSetstripe(t: LfsTarget, opts: SetstripeOptions): Promise<string> {
  return withClient(t, (c) => setstripePath(c, t.path, opts, t.signal)).then(() => '');
}

/** lfs getstripe: the layout of a file, or the default policy of a directory, in Lustre's format. */
export function lfsGetstripe(t: LfsTarget): Promise<string> {
  return withClient(t, async (c) => {
    const attr = await c.resolvePath(t.path, t.signal);
    const r = await c.getstripe(attr.ino, t.signal);
    return formatGetstripe(shown(t, t.path), attr.ino, (attr.mode & S_IFMT) === S_IFDIR, r);
  });
}

/** lfs df: space of every OST and the file system's total. */
export function lfsDf(t: LfsTarget): Promise<string> {
  return withClient(t, async (c) => formatDf(t.mountPoint ?? shown(t, ''), await c.ostUsage(t.signal)));
}

/** Applies `opts` at `path`, creating an empty regular file there if nothing exists (as lfs does). */
export async function setstripePath(
  client: LustreClient,
  path: string,
  opts: SetstripeOptions,
  signal?: AbortSignal,
): Promise<void> {
  const policy: LayoutPolicy = {
    stripeCount: opts.stripeCount,
    stripeSize: opts.stripeSize,
    stripeOffset: opts.stripeOffset ?? -1,
  };
  let ino: number;
  try {
    ino = (await client.resolvePath(path, signal)).ino;
  } catch (err) {
    if (!(err instanceof FsError && err.code === 'ENOENT')) throw err;
    const slash = path.replace(/\/+$/, '').lastIndexOf('/');
    const name = path.slice(slash + 1).replace(/\/+$/, '');
    if (name === '') throw err;
    const parent = await client.resolvePath(path.slice(0, Math.max(slash, 0)), signal);
    const made = await client.create(ROOT_CREDENTIALS, parent.ino, name, 0o644, O_WRONLY | O_EXCL, signal);
    ino = made.attr.ino;
    await client.release(made.handle, signal);
  }
  await client.setstripe(ROOT_CREDENTIALS, ino, policy, signal);
}

/** Lustre's getstripe text for a file's layout or a directory's default policy. */
export function formatGetstripe(
  path: string,
  ino: number,
  isDir: boolean,
  r: MdsMethods['getstripe']['result'],
): string {
  if (isDir && r.policy) return `${path}\n${policyLine(r.policy)}\n`;
  if (!r.layout) return `${path} has no stripe information\n`;
  return `${path}\n${layoutLines(ino, r.layout).join('\n')}\n`;
}

function policyLine(p: LayoutPolicy): string {
  return `stripe_count:  ${p.stripeCount} stripe_size:   ${p.stripeSize} pattern:       raid0 stripe_offset: ${p.stripeOffset}`;
}

function layoutLines(ino: number, l: Layout): string[] {
  const lines = [
    `lmm_stripe_count:  ${l.stripeCount}`,
    `lmm_stripe_size:   ${l.stripeSize}`,
    'lmm_pattern:       raid0',
    `lmm_stripe_offset: ${l.osts[0] ?? -1}`,
    `\tobdidx\t\t objid${l.mirrors ? '\t\t mirror' : ''}`,
  ];
  for (let i = 0; i < l.osts.length; i++) {
    const mirror = l.mirrors?.[i];
    const row = `\t${String(l.osts[i]).padStart(6)}\t${`${ino}.${i}`.padStart(14)}`;
    // A copy that missed writes while its server was away, until the MDS has resynced it.
    const stale = l.stale?.find((s) => s.stripe === i)?.ost;
    const mark = stale === undefined ? '' : `\tstale copy on OST ${stale}`;
    lines.push(`${mirror === undefined ? row : `${row}\t${String(mirror).padStart(14)}`}${mark}`);
  }
  return lines;
}

/** Lustre's df table in bytes: one line per OST (inactive ones say so) and the summary. */
export function formatDf(mountPoint: string, usage: readonly OstUsage[]): string {
  const row = (uuid: string, bytes: string, used: string, avail: string, pct: string, on: string) =>
    `${uuid.padEnd(20)} ${bytes.padStart(15)} ${used.padStart(15)} ${avail.padStart(15)} ${pct.padStart(4)} ${on}`;
  const percent = (used: number, avail: number) =>
    used + avail === 0 ? '0%' : `${Math.ceil((used * 100) / (used + avail))}%`;
  const lines = [row('UUID', 'bytes', 'Used', 'Available', 'Use%', 'Mounted on')];
  let [total, used, avail] = [0, 0, 0];
  for (const u of usage) {
    const uuid = `${u.target}_UUID`;
    if (!('stat' in u)) {
      lines.push(`${uuid.padEnd(20)} : inactive device (${u.error})`);
      continue;
    }
    const s = u.stat;
    total += s.capacityBytes;
    used += s.usedBytes;
    avail += s.availBytes;
    const on = `${mountPoint}[OST:${u.index}]`;
    lines.push(
      row(
        uuid,
        `${s.capacityBytes}`,
        `${s.usedBytes}`,
        `${s.availBytes}`,
        percent(s.usedBytes, s.availBytes),
        on,
      ),
    );
  }
  lines.push(
    '',
    row('filesystem_summary:', `${total}`, `${used}`, `${avail}`, percent(used, avail), mountPoint),
  );
  return `${lines.join('\n')}\n`;
}
