// How `nacre node` and `nacre mount-holder` start a FUSE keeper: the CLI's light entry with this process's log and data-plane flags.
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { KeeperCommand } from '../../src/csi/node/mounter.ts';

/**
 * `prefix` (a launcher and the entry, space-separated; default this Node and cmd/nacre-fuse.ts)
 * then the global flags, `keyArgs` (the key and TLS files copied into the state dir) and
 * `fuse-keeper <source> <target> --state-file … --log-file … --host <host>`.
 */
export function keeperCommand(
  program: Command,
  prefixFlag: string | undefined,
  keyArgs: readonly string[],
  host: string,
): KeeperCommand {
  const nacre = fileURLToPath(new URL('../nacre-fuse.ts', import.meta.url));
  const prefix = prefixFlag?.trim().split(/\s+/) ?? [process.execPath, nacre];
  const g = program.opts<{ logFormat: string; logLevel: string; debug: string }>();
  return (source, target, stateFile, logFile) => ({
    command: prefix[0] ?? process.execPath,
    args: [
      ...prefix.slice(1),
      `--log-format=${g.logFormat}`,
      `--log-level=${g.logLevel}`,
      ...(g.debug ? [`--debug=${g.debug}`] : []),
      ...keyArgs,
      'fuse-keeper',
      source,
      target,
      '--state-file',
      stateFile,
      '--log-file',
      logFile,
      '--host',
      host,
    ],
  });
}
