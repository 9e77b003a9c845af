// Checks of RPC arguments that arrive from the network: a bad field is EINVAL naming the field, never a crash.
import { FsError } from '../../lib/errors.ts';

export type Args = Record<string, unknown>;

export function asArgs(value: unknown): Args {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FsError('EINVAL', 'arguments must be an object');
  }
  return value as Args;
}

export function int(args: Args, key: string, opts: { min?: number; optional?: false } = {}): number {
  const v = args[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < (opts.min ?? 0)) {
    throw new FsError('EINVAL', `argument "${key}" must be an integer >= ${opts.min ?? 0}`);
  }
  return v;
}

export function optInt(args: Args, key: string, min = 0): number | undefined {
  return args[key] === undefined || args[key] === null ? undefined : int(args, key, { min });
}

export function num(args: Args, key: string): number {
  const v = args[key];
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new FsError('EINVAL', `argument "${key}" must be a number`);
  return v;
}

export function str(args: Args, key: string, maxBytes = 65_536): string {
  const v = args[key];
  if (typeof v !== 'string' || Buffer.byteLength(v) > maxBytes) {
    throw new FsError('EINVAL', `argument "${key}" must be a string of at most ${maxBytes} bytes`);
  }
  return v;
}

export function optStr(args: Args, key: string, maxBytes = 65_536): string | undefined {
  return args[key] === undefined || args[key] === null ? undefined : str(args, key, maxBytes);
}

export function bool(args: Args, key: string): boolean {
  const v = args[key] ?? false;
  if (typeof v !== 'boolean') throw new FsError('EINVAL', `argument "${key}" must be a boolean`);
  return v;
}
