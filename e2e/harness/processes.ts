// Server processes of the local cluster: each in its own process group, logged to a file, found again by pid.
import { spawn } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { DeadlineExceededError, NacreError } from '../../src/lib/errors.ts';
import { waitFor } from '../../src/lib/wait-for.ts';

/** What state.json records of a started server, enough for another process to stop it. */
export interface ProcessRecord {
  name: string;
  pid: number;
  /** Field 22 of /proc/<pid>/stat: tells our process from a later one that reuses the pid. */
  startTicks: string;
  logFile: string;
}

/**
 * Starts `command` as the leader of a new process group (so a whole tree can be signalled), with
 * stdout and stderr written to `logFile` (truncated first). Unless `keep` is set, the group is
 * killed when this Node process exits, however it exits short of SIGKILL.
 */
export async function spawnServer(opts: {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  keep: boolean;
}): Promise<ProcessRecord> {
  const fd = openSync(opts.logFile, 'w');
  try {
    const child = spawn(opts.command, opts.args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: opts.env ?? process.env,
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid!));
      child.once('error', (err) =>
        reject(new NacreError('SpawnFailed', `${opts.name}: cannot run ${opts.command}`, { cause: err })),
      );
    });
    if (opts.keep) {
      child.unref();
    } else {
      killOnExit.add(pid);
      child.once('exit', () => killOnExit.delete(pid));
    }
    return { name: opts.name, pid, startTicks: (await startTicks(pid)) ?? '', logFile: opts.logFile };
  } finally {
    closeSync(fd);
  }
}

const killOnExit = new Set<number>();
const removeOnExit = new Set<string>();
const killAll = () => {
  for (const pid of killOnExit) signalGroup(pid, 'SIGKILL');
  for (const dir of removeOnExit) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
};

/** Removes `dir` if this process exits (or is signalled) before the returned function is called. */
export function removeDirOnExit(dir: string): () => void {
  removeOnExit.add(dir);
  return () => {
    removeOnExit.delete(dir);
  };
}
process.once('exit', killAll);
// 'exit' does not fire when a signal ends the process (the test runner's timeout sends SIGTERM):
// kill the servers, then let the signal do what it would have done without this listener.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  const onSignal = () => {
    killAll();
    if (process.listenerCount(signal) === 1) {
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    }
  };
  process.on(signal, onSignal);
}

/** True while the recorded process (not merely its pid) is alive. */
export async function isAlive(rec: ProcessRecord): Promise<boolean> {
  const ticks = await startTicks(rec.pid);
  return ticks !== undefined && ticks === rec.startTicks;
}

/**
 * Stops the recorded process's group: SIGTERM, then SIGKILL after `graceMs`, and waits (with a
 * deadline) until the leader is gone. A process that already exited is not an error; a pid now
 * used by another process is left alone.
 */
export async function stopServer(rec: ProcessRecord, graceMs = 10_000): Promise<void> {
  if (!(await isAlive(rec))) {
    signalGroup(rec.pid, 'SIGKILL'); // stragglers of a group whose leader died
    return;
  }
  signalGroup(rec.pid, 'SIGTERM');
  const exitedGracefully = await pollUntil(async () => !(await isAlive(rec)), graceMs);
  signalGroup(rec.pid, 'SIGKILL');
  if (exitedGracefully) return;
  if (!(await pollUntil(async () => !(await isAlive(rec)), 5_000))) {
    throw new DeadlineExceededError(`${rec.name} (pid ${rec.pid}) survived SIGKILL for 5 s`);
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is empty already.
  }
}

/** Undefined when the pid is not running (or is a zombie). */
async function startTicks(pid: number): Promise<string | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: split after its closing ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19];
}

/** Polls `check` every `intervalMs` until it returns true (→ true) or `timeoutMs` passes (→ false). */
export async function pollUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  opts: { intervalMs?: number; signal?: AbortSignal } = {},
): Promise<boolean> {
  return waitFor('a condition', check, { ...opts, timeoutMs }).then(
    () => true,
    (err: unknown) => {
      if (err instanceof DeadlineExceededError) return false;
      throw err;
    },
  );
}

/** `count` distinct free TCP ports on 127.0.0.1 (held open together so they differ, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((s) => {
      const addr = s.address();
      if (addr === null || typeof addr === 'string') throw new NacreError('NoPort', 'no TCP address');
      return addr.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** The last `lines` lines of a log file, for error messages. */
export async function logTail(file: string, lines = 15): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
