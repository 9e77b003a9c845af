// Test support for FUSE integration tests: run commands against a mount from child processes, with deadlines.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { DeadlineExceededError } from '../../src/lib/errors.ts';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Run as this uid and gid with no supplementary groups (setpriv). */
  asUser?: number;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * Runs a command in a child process and collects its output; kills it at the deadline. Never give
 * a child `cwd` inside the mount: spawn waits for the child's chdir, which waits for the daemon.
 */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, argv] =
    opts.asUser === undefined
      ? [cmd, args]
      : ['setpriv', [`--reuid=${opts.asUser}`, `--regid=${opts.asUser}`, '--clear-groups', cmd, ...args]];
  const child = spawn(file, argv, { env: { ...process.env, ...opts.env } });
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new DeadlineExceededError(`${cmd} ${args.join(' ')} still running after ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `sh -c script`; fails the test with the output when the script exits non-zero. */
export async function sh(script: string, opts: RunOptions = {}): Promise<string> {
  const r = await run('sh', ['-ec', script], opts);
  if (r.code !== 0) throw new Error(`sh exited ${r.code}: ${script}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** `python3 -c code args…`; fails the test with the output when it exits non-zero. */
export async function py(code: string, args: string[] = [], opts: RunOptions = {}): Promise<string> {
  const r = await run('python3', ['-c', code, ...args], opts);
  if (r.code !== 0) throw new Error(`python3 exited ${r.code}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A long-lived child (a lock holder) the test talks to line by line. */
export class LineChild {
  readonly process: ChildProcessWithoutNullStreams;
  readonly exited: Promise<number | null>;
  private out = '';
  private readonly waiters = new Set<() => void>();

  constructor(cmd: string, args: string[]) {
    this.process = spawn(cmd, args);
    this.process.stdout.on('data', (d: Buffer) => {
      this.out += d.toString();
      for (const w of this.waiters) w();
    });
    this.process.stderr.on('data', (d: Buffer) => (this.out += d.toString()));
    this.exited = new Promise((resolve) => this.process.on('close', resolve));
  }

  /** Resolves with the first complete output line starting with `prefix`. */
  waitForLine(prefix: string, timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = this.out
          .split('\n')
          .slice(0, -1) // the last piece is not a complete line yet
          .find((l) => l.startsWith(prefix));
        if (line === undefined) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(line);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new DeadlineExceededError(`no line "${prefix}" within ${timeoutMs} ms; output: ${this.out}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  send(line: string): void {
    this.process.stdin.write(`${line}\n`);
  }

  kill(): void {
    if (this.process.exitCode === null) this.process.kill('SIGKILL');
  }
}

export { waitFor } from '../../src/lib/wait-for.ts';

/** True while /proc/self/mountinfo lists a mount on `mountPoint`. */
export async function isMounted(mountPoint: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((l) => l.split(' ')[4] === mountPoint);
}

/** Last-resort cleanup for an after hook: lazily detaches every mount stacked on `mountPoint`. */
export async function forceUnmount(mountPoint: string): Promise<void> {
  for (let i = 0; i < 8 && (await isMounted(mountPoint)); i++) {
    await run('umount', ['-l', mountPoint], { timeoutMs: 10_000 });
  }
}
