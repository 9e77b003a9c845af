// Keeps a server registered with the MGS: registers at once, then every few seconds until aborted.
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../../lib/log.ts';
import type { MgsClient } from './mgs-client.ts';
import type { ServerInfo } from './mgs-messages.ts';

const log = logger('mgs-register');

export interface RegisterLoopOptions {
  /** Time between registrations (ms); an MGS restart is noticed within this. Default 3000. */
  intervalMs?: number;
  /** Deadline of one registration (ms). Default 2000. */
  timeoutMs?: number;
  /** Called after each successful registration. */
  onRegistered?: (info: ServerInfo) => void;
}

/**
 * Registers `info` (or what the function returns, evaluated each time, e.g. for current free space)
 * with the MGS now and then every `intervalMs`, until `signal` aborts; the promise resolves then.
 * Failures are logged (once per outage) and retried, never thrown.
 */
export async function registerLoop(
  mgs: MgsClient,
  info: ServerInfo | (() => ServerInfo | Promise<ServerInfo>),
  signal: AbortSignal,
  opts: RegisterLoopOptions = {},
): Promise<void> {
  const intervalMs = opts.intervalMs ?? 3_000;
  const timeoutMs = opts.timeoutMs ?? 2_000;
  let failing = false;
  while (!signal.aborted) {
    try {
      const current = typeof info === 'function' ? await info() : info;
      await mgs.registerServer(current, AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]));
      if (failing) log.info('registered with the MGS again', { mgs: mgs.address, name: current.name });
      failing = false;
      opts.onRegistered?.(current);
    } catch (err) {
      if (signal.aborted) break;
      if (!failing)
        log.warn('cannot register with the MGS; will retry', { mgs: mgs.address, error: String(err) });
      failing = true;
    }
    try {
      await sleep(intervalMs, undefined, { signal });
    } catch {
      break;
    }
  }
}
