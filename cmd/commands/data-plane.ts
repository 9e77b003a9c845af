// The data-plane key flag every command shares: read once at start, applied to every connection of the process.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { writeFileDurably } from '../../src/lib/durable-file.ts';
import { ValidationError } from '../../src/lib/errors.ts';
import { logger } from '../../src/lib/log.ts';
import {
  configureDataPlane,
  dataPlaneSecurity,
  generateDataPlaneKey,
  readDataPlaneKey,
} from '../../src/lustre/protocol/handshake.ts';
import { readDataPlaneTls } from '../../src/lustre/protocol/tls.ts';

export const KEY_FILE_ENV = 'NACRE_DATA_PLANE_KEY_FILE';

export const KEY_FILE_HELP =
  "file holding the file system's shared data-plane key (at least 32 characters); every MGS/MDS/OSS " +
  `connection proves it holds the same key (default $${KEY_FILE_ENV}; none: unauthenticated)`;

interface DataPlaneFlags {
  dataPlaneKeyFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsDir?: string;
}

/** Adds --data-plane-key-file and the TLS files to a program's global options. */
export function addDataPlaneKeyOption(program: Command): Command {
  return program
    .option('--data-plane-key-file <path>', KEY_FILE_HELP, process.env[KEY_FILE_ENV])
    .option('--tls-cert <pem>', "TLS on every data-plane connection: this process's certificate")
    .option('--tls-key <pem>', "TLS: this process's private key")
    .option('--tls-ca <pem>', "TLS: the CA every peer's certificate must chain to")
    .option('--tls-dir <dir>', 'TLS: a directory with tls.crt, tls.key and ca.crt (a Kubernetes TLS Secret)');
}

/** The TLS files the flags name: all three, or none. */
function tlsFiles(f: DataPlaneFlags): { cert: string; key: string; ca: string } | undefined {
  const files = f.tlsDir
    ? { cert: join(f.tlsDir, 'tls.crt'), key: join(f.tlsDir, 'tls.key'), ca: join(f.tlsDir, 'ca.crt') }
    : { cert: f.tlsCert, key: f.tlsKey, ca: f.tlsCa };
  const given = [files.cert, files.key, files.ca].filter((x) => x !== undefined).length;
  if (given === 0) return undefined;
  if (given < 3)
    throw new ValidationError('TLS needs --tls-cert, --tls-key and --tls-ca together (or --tls-dir)');
  return files as { cert: string; key: string; ca: string };
}

/** The global flags as arguments for a child process of the same CLI. */
export function dataPlaneKeyArgs(program: Command): string[] {
  const f = program.opts<DataPlaneFlags>();
  const t = tlsFiles(f);
  return [
    ...(f.dataPlaneKeyFile ? [`--data-plane-key-file=${f.dataPlaneKeyFile}`] : []),
    ...(t ? [`--tls-cert=${t.cert}`, `--tls-key=${t.key}`, `--tls-ca=${t.ca}`] : []),
  ];
}

/** Reads the key and TLS files the flags name (a clear error if one is missing or unreadable) and applies them. */
export async function applyDataPlaneKeyFlag(cmd: Command): Promise<void> {
  const f = cmd.opts<DataPlaneFlags>();
  const signal = AbortSignal.timeout(10_000);
  const t = tlsFiles(f);
  if (!f.dataPlaneKeyFile && !t) return;
  configureDataPlane({
    ...(f.dataPlaneKeyFile && { key: await readDataPlaneKey(f.dataPlaneKeyFile, signal) }),
    ...(t && { tls: await readDataPlaneTls(t, signal) }),
  });
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
  configureDataPlane({ ...dataPlaneSecurity(), key: await readDataPlaneKey(file, signal) });
  return file;
}

/**
 * The key and TLS flags for FUSE keepers of `nacre node`: they outlive the plugin's container (and
 * its Secret mounts) and start new daemons that read the files again, so the files are copied (0600)
 * into the state directory, which is on the host, and the keepers read them there.
 */
export async function keeperKeyArgs(
  program: Command,
  stateDir: string,
  signal: AbortSignal,
): Promise<string[]> {
  const f = program.opts<DataPlaneFlags>();
  const copy = async (flag: string, from: string | undefined, name: string) => {
    if (!from) return [];
    const to = join(stateDir, name);
    await writeFileDurably(to, await readFile(from, { signal }), { signal, mode: 0o600 });
    return [`--${flag}=${to}`];
  };
  const t = tlsFiles(f);
  return [
    ...(await copy('data-plane-key-file', f.dataPlaneKeyFile, 'data-plane.key')),
    ...(await copy('tls-cert', t?.cert, 'data-plane-tls.crt')),
    ...(await copy('tls-key', t?.key, 'data-plane-tls.key')),
    ...(await copy('tls-ca', t?.ca, 'data-plane-ca.crt')),
  ];
}
