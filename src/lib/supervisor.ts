// Child processes a parent runs and stops: start, wait for the child's ready line, stop with a deadline.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { DeadlineExceededError, NacreError } from './errors.ts';

/** What a server prints on stdout, one JSON line, once it serves. */
export interface ReadyLine {
  event: 'ready';
  address: string;
  [key: string]: unknown;
}

/** Set in a supervised child's environment: stop when stdin ends (the parent went away). */
export const STOP_ON_STDIN_EOF = 'NACRE_STOP_ON_STDIN_EOF';

export function announceReady(fields: Omit<ReadyLine, 'event'>): void {
  process.stdout.write(`${JSON.stringify({ event: 'ready', ...fields })}\n`);
}

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly ready: ReadyLine;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
}

/**
 * Starts `command args` with stderr (and stdout after the ready line) appended to `logFile`, and
 * waits up to `timeoutMs` for its ready line. If the child exits or the deadline passes first, it
 * is killed and the error says where its log is.
 */
export async function startChild(opts: {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}): Promise<Child> {
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  // Its own process group, so a Ctrl-C meant for the parent does not stop the child before the parent
  // has wound down what depends on it; stdin stays open so the child can notice the parent dying.
  const child = spawn(opts.command, opts.args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...(opts.env ?? process.env), [STOP_ON_STDIN_EOF]: '1' },
    detached: true,
  });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  const lines = createInterface({ input: child.stdout! });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const ready = await new Promise<ReadyLine>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new DeadlineExceededError(
              `${opts.name} was not ready within ${timeoutMs} ms; see ${opts.logFile}`,
            ),
          ),
        timeoutMs,
      );
      lines.on('line', (line) => {
        log.write(`${line}\n`);
        try {
          const parsed = JSON.parse(line) as Partial<ReadyLine>;
          if (parsed.event === 'ready' && typeof parsed.address === 'string') resolve(parsed as ReadyLine);
        } catch {
          // Not a JSON line: ordinary output, already logged.
        }
      });
      void exited.then((code) =>
        reject(
          new NacreError(
            'ChildExited',
            `${opts.name} exited (${code}) before it was ready; see ${opts.logFile}`,
          ),
        ),
      );
    });
    return {
      name: opts.name,
      process: child,
      ready,
      exited,
      stop: async (graceMs = 10_000) => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(t);
        }
        log.end();
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    log.end();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `fn` on SIGINT or SIGTERM, once; with `watchStdin` (a child started by startChild) also when
 * its parent goes away.
 */
export function onShutdown(fn: (signal: string) => Promise<void>, opts: { watchStdin?: boolean } = {}): void {
  let running = false;
  const handler = (signal: string) => {
    if (running) return;
    running = true;
    fn(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  if (opts.watchStdin) {
    process.stdin.on('end', () => handler('parent gone'));
    process.stdin.on('error', () => handler('parent gone'));
    process.stdin.resume();
  }
}
