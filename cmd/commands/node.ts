// `nacre node`: the CSI node plugin (Identity + Node services) of one Kubernetes node.
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { announceReady } from '../../src/lib/supervisor.ts';
import { keeperKeyArgs } from './data-plane.ts';
import { defaultHost } from './options.ts';

interface NodeFlags {
  csiEndpoint: string;
  nodeId: string;
  stateDir: string;
  kubeletDir: string;
  metricsAddress?: string;
  host: string;
  keeperCommand?: string;
}

export function registerNode(program: Command): void {
  program
    .command('node')
    .description('serve the CSI node plugin: stage (mount once per volume), publish (bind), stats and health')
    .requiredOption('--csi-endpoint <unix:///path>', 'unix socket the kubelet calls')
    .requiredOption('--node-id <id>', 'this node, as NodeGetInfo reports it (the Kubernetes node name)')
    .option(
      '--state-dir <dir>',
      'volume records and FUSE keepers; must survive restarts',
      '/var/lib/nacre/node',
    )
    .option('--kubelet-dir <dir>', "the kubelet's root directory", '/var/lib/kubelet')
    .option('--metrics-address <host:port>', '/healthz, /readyz and /metrics (port 0 picks one)')
    .option('--host <node>', 'this node, for reaching local OSTs over unix sockets', defaultHost())
    .option(
      '--keeper-command <argv>',
      'how to run cmd/nacre-fuse.ts for FUSE keepers, space-separated (default: this node and nacre-fuse.ts); in a ' +
        'container, a launcher that puts keepers outside it, e.g. "nsenter -t 1 -m -- systemd-run --scope ' +
        '--collect /var/lib/nacre/app/node /var/lib/nacre/app/cmd/nacre-fuse.ts"',
    )
    .action(async (f: NodeFlags) => {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      const nacre = fileURLToPath(new URL('../nacre-fuse.ts', import.meta.url));
      // A container's processes all die with it: keepers must be started where they outlive it.
      const prefix = f.keeperCommand?.trim().split(/\s+/) ?? [process.execPath, nacre];
      const g = program.opts<{ logFormat: string; logLevel: string; debug: string }>();
      await mkdir(f.stateDir, { recursive: true });
      const keyArgs = await keeperKeyArgs(program, f.stateDir, AbortSignal.timeout(10_000));
      // gRPC and the CSI node service are loaded by this command only.
      const { startCsiNode } = await import('../../src/csi/run-csi-node.ts');
      const node = await startCsiNode({
        endpoint: f.csiEndpoint,
        nodeId: f.nodeId,
        stateDir: f.stateDir,
        kubeletDir: f.kubeletDir,
        ...(f.metricsAddress !== undefined && { metricsAddress: f.metricsAddress }),
        keeperCommand: (source, target, stateFile, logFile) => ({
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
            f.host,
          ],
        }),
        signal: stop.signal,
      });
      announceReady({ address: f.csiEndpoint, nodeId: f.nodeId });
      await new Promise<void>((resolve) =>
        stop.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
      await node.close();
    });
}
