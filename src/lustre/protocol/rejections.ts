// Connections a server refused (malformed frames, failed or missing authentication): logged without flooding.
import type { Logger } from '../../lib/log.ts';

/** Why a server dropped a connection or refused a call before any handler ran. */
export type RejectionReason =
  | 'malformed'
  | 'auth-failed'
  | 'unauthenticated'
  | 'auth-timeout'
  | 'plaintext'
  | 'tls-failed';

/** Records logged per interval and reason before the rest are only counted. */
export const LOGGED_PER_INTERVAL = 5;
export const INTERVAL_MS = 60_000;

/**
 * Logs the first LOGGED_PER_INTERVAL rejections of each reason per interval at warn, then one
 * summary of how many more there were when the interval ends, so a port scanner or a client with
 * the wrong key cannot fill the disk with logs.
 */
export class RejectionLog {
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #seen = new Map<RejectionReason, { logged: number; suppressed: number }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(log: Logger, intervalMs = INTERVAL_MS) {
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  record(reason: RejectionReason, remote: string, detail: string): void {
    let s = this.#seen.get(reason);
    if (!s) {
      s = { logged: 0, suppressed: 0 };
      this.#seen.set(reason, s);
    }
    if (s.logged < LOGGED_PER_INTERVAL) {
      s.logged++;
      this.#log.warn(`refused a connection: ${describe(reason)}`, { reason, remote, detail });
    } else s.suppressed++;
    if (!this.#timer) {
      this.#timer = setTimeout(() => this.#flush(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  #flush(): void {
    this.#timer = undefined;
    for (const [reason, s] of this.#seen) {
      if (s.suppressed > 0) {
        this.#log.warn(
          `refused ${s.suppressed} more connections (${describe(reason)}) without logging each`,
          {
            reason,
            count: s.suppressed,
            intervalSeconds: this.#intervalMs / 1000,
          },
        );
      }
    }
    this.#seen.clear();
  }

  /** Logs what is pending and stops the timer. */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#flush();
  }
}

function describe(reason: RejectionReason): string {
  switch (reason) {
    case 'malformed':
      return 'malformed frame';
    case 'auth-failed':
      return 'failed authentication';
    case 'unauthenticated':
      return 'call before authentication';
    case 'auth-timeout':
      return 'no authentication within the deadline';
    case 'plaintext':
      return 'plaintext client on a TLS-only server';
    case 'tls-failed':
      return 'failed TLS handshake';
  }
}
