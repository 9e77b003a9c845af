// What a test cluster leaves on the machine (mounts and processes under its temp dir), found through /proc and taken down.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './shell.ts';

/** File in a cluster's dir naming the test process that owns it (pid and start time). */
const OWNER = 'owner';

/** Mount points at or below `path`, from /proc/self/mountinfo (never touching the mounts themselves). */
export function mountedUnder(path: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))))
    .filter((p) => p === path || p.startsWith(`${path}/`));
}

/** "pid cmdline" of live processes (other than this one) whose command line mentions `text`. */
export function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (cmd.includes(text) && Number(pid) !== process.pid) found.push(`${pid} ${cmd.slice(0, 200)}`);
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}

/** "pid starttime" of a live process, from /proc; undefined if there is none. */
function processIdentity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return `${pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
  } catch {
    return undefined;
  }
}

/** Records this process as the owner of `dir`, for `sweepStale`. */
export async function markOwner(dir: string): Promise<void> {
  await writeFile(join(dir, OWNER), processIdentity(process.pid) ?? '');
}

function kill9(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

/**
 * Takes down what a test process killed outright (SIGKILL, a runner's timeout) left behind: for each
 * `<parent>/<prefix>*` dir whose owner is gone, the processes started for it (found by the dir in
 * their command line, killed by pid), its mounts (`umount -l`), then the dir.
 */
export async function sweepStale(parent: string, prefix: string): Promise<void> {
  for (const name of await readdir(parent)) {
    if (!name.startsWith(prefix)) continue;
    const dir = join(parent, name);
    const owner = await readFile(join(dir, OWNER), 'utf8').catch(() => undefined);
    if (owner === undefined || processIdentity(Number(owner.split(' ')[0])) === owner) continue;
    for (const p of processesMentioning(dir)) kill9(Number(p.split(' ')[0]));
    for (const p of mountedUnder(dir).reverse()) await run(['umount', '-l', p], { timeoutMs: 10_000 });
    if (mountedUnder(dir).length === 0) await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Last resort, synchronous (for 'exit' and signal handlers): SIGKILL the mount daemons, detach their
 * mounts, SIGKILL the servers, and remove `dir` if nothing is mounted in it any more.
 */
export function takeDownSync(dir: string, mountPids: number[], serverPids: number[]): void {
  for (const pid of mountPids) kill9(pid);
  for (const p of mountedUnder(dir).reverse()) spawnSync('umount', ['-l', p], { timeout: 5_000 });
  for (const pid of serverPids) kill9(pid);
  if (mountedUnder(dir).length === 0) rmSync(dir, { recursive: true, force: true });
}

/**
 * Runs `cleanup` (synchronous) if the process exits or gets SIGINT/SIGTERM before the returned
 * function is called; a signal then ends the process as the signal would have.
 */
export function onAbnormalExit(cleanup: () => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    cleanup();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', cleanup);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('exit', cleanup);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
