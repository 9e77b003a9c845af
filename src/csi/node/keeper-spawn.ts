// Starts one `nacre fuse-keeper` in its own session and waits for its ready line: used by the node plugin and by the mount holder.
import { type ChildProcess, spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { DeadlineExceededError } from '../../lib/errors.ts';

/**
 * Spawns `command args` (a keeper) with stderr appended to `logFile`. Resolves 'ready' once it
 * printed its ready line, else how it ended ('keeper exited …'). Rejects with DeadlineExceededError
 * (killing it) after `timeoutMs`, or with the signal's reason when `signal` aborts (the keeper goes
 * on: it may still mount, and whoever asks again finds it by its lock file).
 */
export async function spawnKeeper(
  cmd: { command: string; args: string[] },
  logFile: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<string> {
  const log = await open(logFile, 'a');
  let child: ChildProcess;
  try {
    // Its own session: a signal to the starter's process group, or its exit, leaves the mount alone.
    child = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'pipe', log.fd], detached: true, cwd: '/' });
  } finally {
    await log.close();
  }
  try {
    return await waitReady(child, timeoutMs, signal);
  } finally {
    child.stdout?.destroy();
    child.unref();
  }
}

/** 'ready' once the keeper printed its ready line, else how it ended. */
function waitReady(child: ChildProcess, timeoutMs: number, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new DeadlineExceededError(`the FUSE keeper did not mount within ${timeoutMs} ms`));
    }, timeoutMs);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const done = (v: string) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      lines.close();
      resolve(v);
    };
    lines.on('line', (line) => {
      if (line.startsWith('{"event":"ready"')) done('ready');
    });
    child.once('exit', (code, sig) => done(`keeper exited ${code ?? sig}`));
  });
}
