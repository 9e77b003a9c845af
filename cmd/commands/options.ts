// Parsing of the CLI's option values, once, at the edge: addresses, sizes, names.
import { hostname } from 'node:os';
import { InvalidArgumentError } from 'commander';
import { parseSize } from '../../src/lib/units.ts';
import { connectOptions } from '../../src/lustre/protocol/address.ts';

/** "host:port" → listen options; port 0 picks a free port. */
export function listenOption(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  const port = Number(text.slice(i + 1));
  if (i <= 0 || text.slice(i + 1) === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`bad listen address "${text}": want host:port (port 0 picks a free one)`);
  }
  return { host: text.slice(0, i).replace(/^\[|\]$/g, ''), port };
}

export function addressOption(text: string): string {
  try {
    connectOptions(text);
    return text;
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

export function sizeOption(text: string): number {
  try {
    return parseSize(text);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

export function intOption(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`"${text}" is not an integer`);
  return n;
}

/** "hard" → Infinity (wait for ever), else seconds ≥ 0 → milliseconds. */
export function recoveryOption(text: string): number {
  if (text === 'hard') return Number.POSITIVE_INFINITY;
  const s = Number(text);
  if (text.trim() === '' || !Number.isFinite(s) || s < 0) {
    throw new InvalidArgumentError(`"${text}" is neither "hard" nor a number of seconds`);
  }
  return s * 1000;
}

/** The text recoveryOption parses back to `ms`. */
export function formatRecovery(ms: number): string {
  return ms === Number.POSITIVE_INFINITY ? 'hard' : String(ms / 1000);
}

/** Help of the --recovery option of `nacre mount` and `nacre up`. */
export const RECOVERY_HELP =
  'how long I/O waits for a server that is down (restarting) before it fails with EIO, in seconds; "hard" waits for ever';

export function defaultHost(): string {
  return process.env['NODE_NAME'] ?? hostname();
}
