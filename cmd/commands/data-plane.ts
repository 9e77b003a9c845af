// The data-plane key flag every command shares: read once at start, applied to every connection of the process.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { writeFileDurably } from '../../src/lib/durable-file.ts';
import { logger } from '../../src/lib/log.ts';
import {
  configureDataPlane,
  generateDataPlaneKey,
  readDataPlaneKey,
} from '../../src/lustre/protocol/handshake.ts';

export const KEY_FILE_ENV = 'NACRE_DATA_PLANE_KEY_FILE';

export const KEY_FILE_HELP =
  "file holding the file system's shared data-plane key (at least 32 characters); every MGS/MDS/OSS " +
  `connection proves it holds the same key (default $${KEY_FILE_ENV}; none: unauthenticated)`;

/** Adds --data-plane-key-file to a program's global options. */
export function addDataPlaneKeyOption(program: Command): Command {
  return program.option('--data-plane-key-file <path>', KEY_FILE_HELP, process.env[KEY_FILE_ENV]);
}

/** The global flag as arguments for a child process of the same CLI. */
export function dataPlaneKeyArgs(program: Command): string[] {
  const file = program.opts<{ dataPlaneKeyFile?: string }>().dataPlaneKeyFile;
  return file ? [`--data-plane-key-file=${file}`] : [];
}

/** Reads the key file named by the flag (a clear error if it is missing or unreadable) and applies it. */
export async function applyDataPlaneKeyFlag(cmd: Command): Promise<void> {
  const file = cmd.opts<{ dataPlaneKeyFile?: string }>().dataPlaneKeyFile;
  if (!file) return;
  configureDataPlane({ key: await readDataPlaneKey(file, AbortSignal.timeout(10_000)) });
}

/**
 * `nacre up`'s key: `data-plane.key` in its data directory, generated (mode 0600) on the first run
 * and kept, so the next `nacre up` on the same data finds the same file system with the same key.
 */
export async function ensureDataPlaneKeyFile(dataDir: string, signal: AbortSignal): Promise<string> {
  const file = join(dataDir, 'data-plane.key');
  try {
    await readFile(file, { signal });
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
    await writeFileDurably(file, `${generateDataPlaneKey()}\n`, { signal, mode: 0o600 });
    logger('up').info('generated a data-plane key', { file });
  }
  configureDataPlane({ key: await readDataPlaneKey(file, signal) });
  return file;
}

/**
 * The key flag for FUSE keepers of `nacre node`: they outlive the plugin's container (and its Secret
 * mount) and start new daemons that read the key again, so the key is copied (0600) into the state
 * directory, which is on the host, and the keepers read it there.
 */
export async function keeperKeyArgs(
  program: Command,
  stateDir: string,
  signal: AbortSignal,
): Promise<string[]> {
  const file = program.opts<{ dataPlaneKeyFile?: string }>().dataPlaneKeyFile;
  if (!file) return [];
  const copy = join(stateDir, 'data-plane.key');
  await writeFileDurably(copy, await readFile(file, { signal }), { signal, mode: 0o600 });
  return [`--data-plane-key-file=${copy}`];
}
