// Validation of OST target names and object ids from the network, and where an object lives on disk.
import path from 'node:path';
import { FsError } from '../../lib/errors.ts';

/** Target names are one path component: letters, digits, '_' and '-', not starting with '-' or '.'. */
const TARGET_RE = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;
/** "<ino>.<stripe>": decimal without leading zeros, ino >= 1, stripe < 65536. */
const OBJECT_RE = /^([1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,4})$/;

/** Returns `name` if it is a valid target name; EINVAL otherwise. */
export function checkTarget(name: unknown): string {
  if (typeof name !== 'string' || !TARGET_RE.test(name)) {
    throw new FsError('EINVAL', `bad target name ${JSON.stringify(String(name)).slice(0, 80)}`);
  }
  return name;
}

/** Returns `id` if it is a valid object id "<ino>.<stripe>"; EINVAL for anything else (paths, dots, signs). */
export function checkObjectId(id: unknown): string {
  const m = typeof id === 'string' ? OBJECT_RE.exec(id) : null;
  if (!m || !Number.isSafeInteger(Number(m[1])) || Number(m[2]) > 65_535) {
    throw new FsError(
      'EINVAL',
      `bad object id ${JSON.stringify(String(id)).slice(0, 80)}: want "<ino>.<stripe>"`,
    );
  }
  return id as string;
}

/** FNV-1a (32 bit) of a string's UTF-16 code units; object ids are ASCII. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Objects fan out into 256 subdirectories of `objects/` by the hash of their id. */
export function objectDir(targetDir: string, id: string): string {
  return path.join(targetDir, 'objects', (fnv1a(id) & 0xff).toString(16).padStart(2, '0'));
}

export function objectPath(targetDir: string, id: string): string {
  return path.join(objectDir(targetDir, id), id);
}
