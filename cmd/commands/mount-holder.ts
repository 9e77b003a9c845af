// `nacre mount-holder`: starts and keeps the node's FUSE keepers for the CSI node plugin, so a plugin restart leaves the mounts alone.
import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { logger } from '../../src/lib/log.ts';
import { announceReady } from '../../src/lib/supervisor.ts';
import { keeperKeyArgs } from './data-plane.ts';
import { keeperCommand } from './keeper-command.ts';
import { defaultHost } from './options.ts';

interface HolderFlags {
  socket: string;
  stateDir: string;
  kubeletDir: string;
  host: string;
  keeperCommand?: string;
}

export function registerMountHolder(program: Command): void {
  program
    .command('mount-holder')
    .description(
      "hold the node's Nacre FUSE mounts for the CSI node plugin (nacre node --mount-holder): start their keepers on " +
        'its request and report their liveness; the mounts end only when this process and its keepers end',
    )
    .requiredOption('--socket <path>', 'unix socket the node plugin calls (its directory is made mode 0700)')
    .option(
      '--state-dir <dir>',
      "the node plugin's --state-dir (keepers' state and logs)",
      '/var/lib/nacre/node',
    )
    .option(
      '--kubelet-dir <dir>',
      "the kubelet's root directory: mount points must be below it",
      '/var/lib/kubelet',
    )
    .option('--host <node>', 'this node, for reaching local OSTs over unix sockets', defaultHost())
    .option(
      '--keeper-command <argv>',
      'how to run cmd/nacre-fuse.ts for keepers, space-separated (default: this node and nacre-fuse.ts)',
    )
    .action(async (f: HolderFlags) => {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      await mkdir(f.stateDir, { recursive: true });
      const keyArgs = await keeperKeyArgs(program, f.stateDir, AbortSignal.timeout(10_000));
      const { HolderServer } = await import('../../src/csi/holder/holder-server.ts');
      const holder = await HolderServer.start({
        socket: f.socket,
        stateDir: f.stateDir,
        allowedRoots: [f.kubeletDir],
        keeperCommand: keeperCommand(program, f.keeperCommand, keyArgs, f.host),
        log: logger('mount-holder'),
      });
      announceReady({ address: f.socket });
      await new Promise<void>((resolve) =>
        stop.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
      // The keepers run in their own sessions: stopping the holder alone leaves them (a new holder finds them).
      await holder.close();
    });
}
