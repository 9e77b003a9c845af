// Outside commands (mount, umount, stat) as child processes with a deadline: the seam the CSI node's mounters drive.
import { spawn } from 'node:child_process';
import { DeadlineExceededError, NacreError } from './errors.ts';

export interface CommandResult {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Killed (SIGKILL) after this long; the call then rejects with DeadlineExceededError. */
  timeoutMs: number;
  /** Aborting kills the command; the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Descriptors passed to the command as its fd 3, 4, … */
  fds?: readonly number[];
}

/**
 * Runs one command to completion. Resolves with its exit status whatever it is (the caller decides
 * what a non-zero code means); rejects with DeadlineExceededError when it had to be killed at the
 * deadline, with the abort reason when the signal aborted, and with NacreError('CommandFailed')
 * when it could not be started (no such program). The command's working directory is never a path
 * that could be on a hung mount.
 */
export interface CommandRunner {
  run(command: string, args: readonly string[], opts: RunOptions): Promise<CommandResult>;
}

/** Runs commands with child_process.spawn, in `/`. */
export class ExecRunner implements CommandRunner {
  run(command: string, args: readonly string[], opts: RunOptions): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      opts.signal?.throwIfAborted();
      const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'pipe', 'pipe', ...(opts.fds ?? [])];
      const child = spawn(command, args, { stdio, cwd: '/' });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      let failure: unknown;
      const kill = (why: unknown) => {
        failure ??= why;
        child.kill('SIGKILL');
      };
      const timer = setTimeout(
        () =>
          kill(
            new DeadlineExceededError(
              `${command} ${args.join(' ')} did not finish within ${opts.timeoutMs} ms`,
            ),
          ),
        opts.timeoutMs,
      );
      const onAbort = () => kill(opts.signal?.reason);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const finish = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      child.once('error', (err) => {
        finish();
        reject(new NacreError('CommandFailed', `cannot run ${command}: ${err.message}`, { cause: err }));
      });
      child.once('close', (code) => {
        finish();
        if (failure !== undefined) reject(failure);
        else resolve({ code, stdout: stdout.trim(), stderr: stderr.trim() });
      });
    });
  }
}
