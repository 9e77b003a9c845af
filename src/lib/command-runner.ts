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
  /**
   * Told of a killed command that has not exited KILL_GRACE_MS after its SIGKILL (stuck in the kernel,
   * e.g. on a FUSE request its daemon read and never answers): the call rejects anyway; `exited`
   * resolves when the process finally ends.
   */
  onStuck?: (pid: number, exited: Promise<void>) => void;
}

/** How long a killed command has to exit before the call gives up waiting for it. */
export const KILL_GRACE_MS = 1_000;

/**
 * Runs one command to completion. Resolves with its exit status whatever it is (the caller decides
 * what a non-zero code means); rejects with DeadlineExceededError when it had to be killed at the
 * deadline, with the abort reason when the signal aborted, and with NacreError('CommandFailed')
 * when it could not be started (no such program). A killed command that does not exit within
 * KILL_GRACE_MS is left to the kernel (see `onStuck`). The command's working directory is never a
 * path that could be on a hung mount.
 */
export interface CommandRunner {
  run(command: string, args: readonly string[], opts: RunOptions): Promise<CommandResult>;
}

/** Runs commands with child_process.spawn, in `/`. */
export class ExecRunner implements CommandRunner {
  run(command: string, args: readonly string[], opts: RunOptions): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      opts.signal?.throwIfAborted();
      let closed = false;
      let onClosed = () => {};
      const exited = new Promise<void>((r) => (onClosed = r));
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
        // A process stuck in the kernel ignores SIGKILL until the kernel lets go: do not wait for it.
        setTimeout(() => {
          if (closed) return;
          finish();
          reject(failure);
          if (child.pid !== undefined) opts.onStuck?.(child.pid, exited);
        }, KILL_GRACE_MS).unref();
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
        closed = true;
        onClosed();
        finish();
        if (failure !== undefined) reject(failure);
        else resolve({ code, stdout: stdout.trim(), stderr: stderr.trim() });
      });
    });
  }
}
