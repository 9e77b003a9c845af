// Sizes as people type them ("4M", "1.5G", "65536") and as people read them.
import { ValidationError } from './errors.ts';

const factors: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** Parses a byte size with an optional binary suffix (K, M, G, T, P; "KiB"/"KB" spellings too). */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$/i.exec(text);
  const factor = m ? factors[m[2]!.toLowerCase()] : undefined;
  if (!m || factor === undefined)
    throw new ValidationError(`bad size "${text}": want a number with an optional K, M, G or T suffix`);
  const bytes = Math.round(Number(m[1]) * factor);
  if (!Number.isSafeInteger(bytes)) throw new ValidationError(`size "${text}" is too large`);
  return bytes;
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}
