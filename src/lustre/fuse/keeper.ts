// The keeper of one FUSE mount: holds its /dev/fuse descriptor so the mount outlives its daemon, and starts a new daemon on it when one dies.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { CommandRunner } from '../../lib/command-runner.ts';
import { DeadlineExceededError, NacreError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { processAlive, processAliveSince, processStartTime, processState } from '../../lib/process-alive.ts';
import type { AdoptedInit } from './adopt.ts';
import { findMountDevice } from './mount.ts';

/** What a keeper publishes about its mount, rewritten (atomically) whenever it changes. */
export interface KeeperState {
  keeperPid: number;
  /** processStartTime of the keeper and of the daemon: a pid reused by another process is not them. */
  keeperStart?: string;
  daemonStart?: string;
  /** The serving daemon, or 0 while none is (it died and the next one is starting). */
  daemonPid: number;
  /** Daemons started so far on this mount (1 for the first). */
  generation: number;
  mountPoint: string;
  source: string;
  /** `major:minor` of the mount. */
  device: string;
  /** This mount's id, handed to every daemon: the MDS knows a request the kernel resends to a new daemon by it. */
  mountId: string;
  /** When the last daemon died, if one has (ms since the epoch). */
  lastCrashAt?: number;
}

export interface KeeperOptions {
  source: string;
  /** An existing directory, its real path. */
  mountPoint: string;
  stateFile: string;
  /** How to start a daemon that serves the descriptor it gets as fd 3 and prints a ready line with `init`. */
  daemon: (adopt: AdoptedInit | undefined, mountId: string) => { command: string; args: string[] };
  /** Where daemons write their stderr. */
  logFd: number;
  runner: CommandRunner;
  /** Deadline for mount(8) and for a daemon's ready line. */
  timeoutMs: number;
  /** Per-mount flags for mount(8) -o, e.g. ["ro", "noatime"]. */
  mountFlags?: readonly string[];
  log: Logger;
}

const MAX_BACKOFF_MS = 5_000;

/** `{ [key]: start time of pid }`, or nothing when it cannot be read. */
function startOf(key: 'keeperStart' | 'daemonStart', pid: number): Partial<KeeperState> {
  const t = processStartTime(pid);
  return t === undefined ? {} : { [key]: t };
}

/** Ready line of a daemon: `{"event":"ready","init":{"minor":…,"flags":"…"}}`. */
function parseInit(line: string): AdoptedInit | undefined {
  try {
    const parsed = JSON.parse(line) as { event?: string; init?: { minor?: number; flags?: string } };
    if (parsed.event !== 'ready' || typeof parsed.init?.minor !== 'number') return undefined;
    return { minor: parsed.init.minor, flags: BigInt(parsed.init.flags ?? '0') };
  } catch {
    return undefined;
  }
}

/** One keeper per mount point: a lock file holding the keeper's pid; a stale one (dead pid) is taken over. */
export async function lockMount(stateFile: string): Promise<() => Promise<void>> {
  const lock = `${stateFile}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const h = await open(lock, 'wx');
      await h.writeFile(String(process.pid));
      await h.close();
      return () => rm(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(await readFile(lock, 'utf8').catch(() => '0'));
      if (processAlive(pid)) {
        throw new NacreError('KeeperRunning', `keeper ${pid} already keeps this mount (${lock})`);
      }
      await rm(lock, { force: true });
    }
  }
  throw new NacreError('KeeperRunning', `cannot take ${lock}`);
}

export async function writeKeeperState(path: string, state: KeeperState): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state)}\n`);
  await rename(tmp, path);
}

/**
 * Whether the keeper and the daemon a state names still run (the same processes, not others that
 * got their pids), and whether each is stopped (SIGSTOP, a debugger): a stopped daemon serves no
 * request, a stopped keeper replaces no daemon.
 */
export function keeperLiveness(s: KeeperState): {
  keeperAlive: boolean;
  daemonAlive: boolean;
  keeperStopped: boolean;
  daemonStopped: boolean;
} {
  const keeperAlive = processAliveSince(s.keeperPid, s.keeperStart);
  const daemonAlive = processAliveSince(s.daemonPid, s.daemonStart);
  const stopped = (pid: number) => /^[Tt]$/.test(processState(pid) ?? '');
  return {
    keeperAlive,
    daemonAlive,
    keeperStopped: keeperAlive && stopped(s.keeperPid),
    daemonStopped: daemonAlive && stopped(s.daemonPid),
  };
}

export async function readKeeperState(path: string): Promise<KeeperState | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as KeeperState;
  } catch {
    return undefined;
  }
}

/**
 * Mounts `source` on `mountPoint`, starts the first daemon and calls `onReady` once it serves;
 * then keeps the descriptor and replaces every daemon that dies while the mount exists (the next
 * one adopts the connection: the kernel resends what the dead one left unanswered, so processes
 * using the mount, and every bind of it, carry on). Resolves when the mount is gone (a daemon
 * exited 0 after the kernel ended the session). Rejects, leaving nothing mounted, if the mount or
 * the first daemon fails.
 */
export async function runKeeper(opts: KeeperOptions, onReady: (s: KeeperState) => void): Promise<void> {
  const unlock = await lockMount(opts.stateFile);
  const fd = openSync('/dev/fuse', 'r+');
  try {
    const options = ['fd=3,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions']
      .concat(opts.mountFlags ?? [])
      .join(',');
    const m = await opts.runner.run(
      'mount',
      ['-i', '-t', 'fuse.nacre', '-o', options, opts.source, opts.mountPoint],
      { timeoutMs: opts.timeoutMs, fds: [fd] },
    );
    if (m.code !== 0) {
      throw new NacreError('MountFailed', `mount ${opts.mountPoint} failed (${m.code}): ${m.stderr}`);
    }
    const device = findMountDevice(await readFile('/proc/self/mountinfo', 'utf8'), opts.mountPoint) ?? '';
    const state: KeeperState = {
      keeperPid: process.pid,
      ...startOf('keeperStart', process.pid),
      daemonPid: 0,
      generation: 0,
      mountPoint: opts.mountPoint,
      source: opts.source,
      device,
      mountId: randomUUID(),
    };
    let first: { child: ChildProcess; init: AdoptedInit };
    try {
      first = await startDaemon(opts, fd, undefined, state.mountId);
    } catch (err) {
      await opts.runner
        .run('umount', ['-l', opts.mountPoint], { timeoutMs: opts.timeoutMs })
        .catch(() => undefined);
      throw err;
    }
    state.generation = 1;
    state.daemonPid = first.child.pid ?? 0;
    Object.assign(state, startOf('daemonStart', state.daemonPid));
    await writeKeeperState(opts.stateFile, state);
    onReady(state);
    await keep(opts, fd, state, first);
  } finally {
    closeSync(fd);
    await rm(opts.stateFile, { force: true });
    await unlock();
  }
}

/** Replaces daemons until one exits 0 or the mount is gone. */
async function keep(
  opts: KeeperOptions,
  fd: number,
  state: KeeperState,
  first: { child: ChildProcess; init: AdoptedInit },
): Promise<void> {
  let child = first.child;
  const init = first.init;
  let backoff = 0;
  for (;;) {
    const startedAt = Date.now();
    const code = await new Promise<number | string>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null)
        resolve(child.exitCode ?? child.signalCode ?? 1);
      else child.once('exit', (c, s) => resolve(c ?? s ?? 'unknown'));
    });
    if (code === 0) return;
    const mounted = findMountDevice(await readFile('/proc/self/mountinfo', 'utf8'), opts.mountPoint);
    if (mounted !== state.device) return;
    opts.log.warn('FUSE daemon died; starting another on the same connection', {
      mountPoint: opts.mountPoint,
      exit: code,
      generation: state.generation,
    });
    state.daemonPid = 0;
    delete state.daemonStart;
    state.lastCrashAt = Date.now();
    await writeKeeperState(opts.stateFile, state);
    backoff = Date.now() - startedAt > 30_000 ? 0 : Math.min(MAX_BACKOFF_MS, backoff ? backoff * 2 : 100);
    if (backoff) await new Promise((r) => setTimeout(r, backoff));
    try {
      child = (await startDaemon(opts, fd, init, state.mountId)).child;
    } catch (err) {
      opts.log.error('replacement FUSE daemon failed to start', { err: String(err), retryInMs: backoff });
      continue;
    }
    state.generation++;
    state.daemonPid = child.pid ?? 0;
    Object.assign(state, startOf('daemonStart', state.daemonPid));
    await writeKeeperState(opts.stateFile, state);
    opts.log.info('FUSE daemon replaced', { mountPoint: opts.mountPoint, generation: state.generation });
  }
}

/** Starts a daemon on `fd` and waits for its ready line; kills it if the line does not come in time. */
async function startDaemon(
  opts: KeeperOptions,
  fd: number,
  adopt: AdoptedInit | undefined,
  mountId: string,
): Promise<{ child: ChildProcess; init: AdoptedInit }> {
  const { command, args } = opts.daemon(adopt, mountId);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', opts.logFd, fd], cwd: '/' });
  const lines = createInterface({ input: child.stdout! });
  let timer: NodeJS.Timeout | undefined;
  try {
    const init = await new Promise<AdoptedInit>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new DeadlineExceededError(`the FUSE daemon was not ready within ${opts.timeoutMs} ms`)),
        opts.timeoutMs,
      );
      lines.on('line', (line) => {
        const init = parseInit(line);
        if (init) resolve(init);
      });
      child.once('exit', (code, sig) =>
        reject(new NacreError('MountFailed', `the FUSE daemon exited (${code ?? sig}) before serving`)),
      );
    });
    return { child, init };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
