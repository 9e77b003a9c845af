// Parsing of the CLI's option values, once, at the edge: addresses, sizes, names.
import { hostname } from 'node:os';
import { InvalidArgumentError } from 'commander';
import { ValidationError } from '../../src/lib/errors.ts';
import { parseSize } from '../../src/lib/units.ts';
import { connectOptions } from '../../src/lustre/protocol/address.ts';

/** "host:port" → listen options; port 0 picks a free port. */
export function listenOption(text: string): { host: string; port: number } {
  try {
    const o = connectOptions(text.endsWith(':0') ? `${text.slice(0, -2)}:1` : text);
    if (!('host' in o) || o.host === undefined) throw new ValidationError('a TCP address is required');
    return { host: o.host, port: text.endsWith(':0') ? 0 : Number(o.port) };
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
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

export function defaultHost(): string {
  return process.env['NODE_NAME'] ?? hostname();
}
