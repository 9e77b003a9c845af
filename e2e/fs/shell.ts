// Child processes that drive the mounts (sh, dd, python3, flock, fio …): run to completion, or hold in the background; all killable by id.

import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { waitFor as waitForCondition } from '../../src/lib/wait-for.ts';

/** How a child process ended, with its output. `code` is null when it was killed by a signal. */
export interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

/** Every child still running, by pid: killed (with its process group) by `killChildren`. */
const running = new Map<number, ChildProcess>();

function launch(argv: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  // Its own process group, so a timeout kills what the shell started too (dd, python3 …).
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    ...(env && { env }),
  });
  if (child.pid !== undefined) {
    const pid = child.pid;
    running.set(pid, child);
    child.once('exit', () => running.delete(pid));
  }
  return child;
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** SIGKILL to every child process group this module started that is still running. */
export function killChildren(): void {
  for (const child of running.values()) killGroup(child);
}

function collect(child: ChildProcess, timeoutMs?: number): Promise<RunResult> {
  const started = Date.now();
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  let timedOut = false;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          killGroup(child);
        }, timeoutMs);
  return new Promise((resolve) => {
    child.once('error', (err) => {
      stderr += String(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, ms: Date.now() - started });
    });
  });
}

/** Runs `argv` to completion (no shell) and resolves with how it ended; never rejects. */
export function run(
  argv: string[],
  opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  const child = launch(argv, opts.env);
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(opts.input ?? '');
  return collect(child, opts.timeoutMs ?? 60_000);
}

function describeFailure(what: string, r: RunResult): string {
  const how = r.timedOut ? `timed out after ${r.ms} ms` : `exited ${r.code ?? r.signal}`;
  return `${what} ${how}\nstderr: ${r.stderr.slice(-2000)}\nstdout: ${r.stdout.slice(-2000)}`;
}

/** Runs a shell script; resolves with its stdout, rejects (with its stderr) unless it exits 0. */
export async function sh(script: string, opts: { timeoutMs?: number; input?: string } = {}): Promise<string> {
  const r = await run(['sh', '-c', script], opts);
  if (r.code !== 0) throw new Error(describeFailure(`sh -c ${JSON.stringify(script.slice(0, 300))}`, r));
  return r.stdout;
}

/** Like `sh` but resolves with how the script ended, whatever the exit code. */
export function shResult(script: string, timeoutMs = 60_000): Promise<RunResult> {
  return run(['sh', '-c', script], { timeoutMs });
}

/** Runs a Python 3 program with arguments; resolves with its stdout, rejects unless it exits 0. */
export async function py(program: string, args: string[] = [], timeoutMs = 60_000): Promise<string> {
  const r = await run(['python3', '-c', program, ...args], { timeoutMs });
  if (r.code !== 0) throw new Error(describeFailure(`python3 ${args.join(' ')}`, r));
  return r.stdout;
}

/** A background process that keeps running (holding a lock, running a workload) until released. */
export interface Held {
  readonly pid: number;
  /** Lines it has printed on stdout so far. */
  readonly lines: readonly string[];
  /** Resolves once it has printed a line matching `pattern`; rejects if it exits first or after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves once it has printed `count` lines; rejects if it exits first or after `timeoutMs`. */
  waitForLines(count: number, timeoutMs?: number): Promise<void>;
  /** Writes `text` to its stdin. */
  send(text: string): void;
  /** True once it has exited. */
  readonly exited: boolean;
  /** Closes its stdin (its cue to finish) and waits for it to exit, killing it after `timeoutMs`. */
  release(timeoutMs?: number): Promise<RunResult>;
  /** SIGKILL to its process group; resolves when it has exited. */
  kill(): Promise<RunResult>;
}

/** Starts `argv` in the background with its stdin open. */
export function hold(argv: string[]): Held {
  const child = launch(argv);
  child.stdin!.on('error', () => undefined);
  const lines: string[] = [];
  let exited = false;
  const done = collect(child).then((r) => {
    exited = true;
    return r;
  });
  const rl = createInterface({ input: child.stdout! });
  rl.on('line', (l) => lines.push(l));
  const until = async (ok: () => boolean, what: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!ok()) {
      if (exited) {
        const r = await done;
        throw new Error(describeFailure(`${argv.join(' ').slice(0, 200)} ended before ${what}:`, r));
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return {
    pid: child.pid!,
    lines,
    get exited() {
      return exited;
    },
    send(text) {
      child.stdin!.write(text);
    },
    async waitForLine(pattern, timeoutMs = 20_000) {
      await until(() => lines.some((l) => pattern.test(l)), `a line matching ${pattern}`, timeoutMs);
      return lines.find((l) => pattern.test(l))!;
    },
    async waitForLines(count, timeoutMs = 20_000) {
      await until(() => lines.length >= count, `${count} lines of output`, timeoutMs);
    },
    async release(timeoutMs = 20_000) {
      child.stdin!.end();
      const timer = setTimeout(() => killGroup(child), timeoutMs);
      const r = await done;
      clearTimeout(timer);
      return { ...r, timedOut: r.signal === 'SIGKILL' };
    },
    async kill() {
      killGroup(child);
      return done;
    },
  };
}

/** Polls `check` until it returns true; rejects after `timeoutMs` naming what it waited for. */
export const waitFor = (what: string, check: () => Promise<boolean>, timeoutMs = 20_000) =>
  waitForCondition(what, check, timeoutMs);

/** True while process `pid` waits for an answer from a FUSE daemon (e.g. blocked on a lock), from /proc. */
export async function waitingOnFuse(pid: number): Promise<boolean> {
  const wchan = await readFile(`/proc/${pid}/wchan`, 'utf8').catch(() => '');
  return wchan === 'request_wait_answer';
}

/**
 * Python programs for the rename-replacement race: the writer replaces `current` with a new version
 * `rounds` times (write a temp file, rename it over), then creates `done`; the reader opens and reads
 * `current` until `done` appears and prints `reads=<n>` and one line per failed or torn read.
 */
export const RENAME_WRITER = `import os, sys
d, rounds = sys.argv[1], int(sys.argv[2])
for i in range(1, rounds + 1):
    with open('%s/tmp.%d' % (d, i), 'w') as f:
        f.write('version %d' % i)
    os.rename('%s/tmp.%d' % (d, i), d + '/current')
open(d + '/done', 'w').close()`;

export const RENAME_READER = `import errno, os, sys
d = sys.argv[1]
reads, bad = 0, {}
while not os.path.exists(d + '/done'):
    reads += 1
    try:
        with open(d + '/current') as f:
            got = f.read()
        if not got.startswith('version '):
            bad['torn read %r' % got] = bad.get('torn read %r' % got, 0) + 1
    except OSError as e:
        bad[errno.errorcode[e.errno]] = bad.get(errno.errorcode[e.errno], 0) + 1
print('reads=%d' % reads)
for k, v in sorted(bad.items()):
    print('%s x%d' % (k, v))`;

/** Single-quotes a string for sh. */
export function q(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}
