// A child process kept running: restarted with backoff when it dies (as a kubelet restarts a pod), on the same arguments.
import { type Child, type ReadyLine, startChild } from './supervisor.ts';

export interface RestartEvent {
  name: string;
  /** How the process ended: exit code or signal name. */
  exit: number | string;
  /** Restarts so far, this one included. */
  restart: number;
  /** Delay before this start. */
  delayMs: number;
}

export interface RestartingChildOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /**
   * The arguments of every restart, from the first start's ready line (e.g. `--listen` with the
   * port it got, so a child first started on port 0 keeps its port). Default: `args`.
   */
  restartArgs?: (ready: ReadyLine) => string[];
  /** First delay after a crash; doubles per crash up to `maxDelayMs`. Defaults 200 ms, 10 s. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** A child that ran this long before dying restarts after `minDelayMs` again. Default 30 s. */
  stableMs?: number;
  /** The child died; it will start again after `delayMs`. */
  onExit?: (e: RestartEvent) => void;
  /** A restarted child is ready again. */
  onRestarted?: (e: RestartEvent & { ready: ReadyLine }) => void;
  /** A restart failed (it died before its ready line); another follows after the next delay. */
  onRestartFailed?: (e: RestartEvent & { error: Error }) => void;
}

/** A supervised child: the current process, its restarts, and stop (which ends supervision). */
export interface RestartingChild {
  readonly name: string;
  /** The first start's ready line. */
  readonly ready: ReadyLine;
  /** The running process's pid; undefined between a crash and its restart. */
  readonly pid: number | undefined;
  readonly restarts: number;
  /** Stops supervising and stops the process: SIGTERM, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts the child (rejecting as startChild does if the first start fails) and watches it: when
 * it exits without `stop`, it starts again after a backoff (200 ms doubling to 10 s, back to
 * 200 ms after 30 s of running), with the same log file, for as long as the parent runs.
 */
export async function startRestartingChild(opts: RestartingChildOptions): Promise<RestartingChild> {
  const base = { name: opts.name, command: opts.command, logFile: opts.logFile };
  const extra = {
    ...(opts.env && { env: opts.env }),
    ...(opts.timeoutMs !== undefined && { timeoutMs: opts.timeoutMs }),
  };
  const minDelay = opts.minDelayMs ?? 200;
  const maxDelay = opts.maxDelayMs ?? 10_000;
  const stableMs = opts.stableMs ?? 30_000;
  let current: Child | undefined = await startChild({ ...base, args: opts.args, ...extra });
  const ready = current.ready;
  const args = opts.restartArgs ? opts.restartArgs(ready) : opts.args;
  let stopping = false;
  let restarts = 0;
  let delay = minDelay;
  let startedAt = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let starting: Promise<void> | undefined;

  const watch = (child: Child) => {
    void child.exited.then((exit) => {
      if (stopping || current !== child) return;
      current = undefined;
      if (Date.now() - startedAt >= stableMs) delay = minDelay;
      schedule(exit);
    });
  };
  const schedule = (exit: number | string) => {
    restarts++;
    const event: RestartEvent = { name: opts.name, exit, restart: restarts, delayMs: delay };
    opts.onExit?.(event);
    timer = setTimeout(() => {
      starting = again(event);
    }, delay);
    delay = Math.min(maxDelay, delay * 2);
  };
  const again = async (event: RestartEvent) => {
    if (stopping) return;
    try {
      const child = await startChild({ ...base, args, ...extra });
      if (stopping) {
        await child.stop();
        return;
      }
      current = child;
      startedAt = Date.now();
      watch(child);
      opts.onRestarted?.({ ...event, ready: child.ready });
    } catch (err) {
      opts.onRestartFailed?.({ ...event, error: err instanceof Error ? err : new Error(String(err)) });
      if (!stopping) schedule('failed to start');
    }
  };
  watch(current);

  return {
    name: opts.name,
    ready,
    get pid() {
      return current?.process.pid;
    },
    get restarts() {
      return restarts;
    },
    stop: async (graceMs) => {
      stopping = true;
      clearTimeout(timer);
      await starting;
      await current?.stop(graceMs);
    },
  };
}

/** `args` with the value after `--listen` replaced by the address the child reported ready on. */
export function keepListenAddress(args: readonly string[]): (ready: ReadyLine) => string[] {
  return (ready) => {
    const out = [...args];
    const i = out.indexOf('--listen');
    if (i >= 0 && i + 1 < out.length) out[i + 1] = ready.address;
    return out;
  };
}
