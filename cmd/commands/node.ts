// `nacre node`: the CSI node plugin (Identity + Node services) of one Kubernetes node.
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { startCsiNode } from '../../src/csi/run-csi-node.ts';
import { announceReady } from '../../src/lib/supervisor.ts';
import { defaultHost } from './options.ts';

interface NodeFlags {
  csiEndpoint: string;
  nodeId: string;
  stateDir: string;
  kubeletDir: string;
  metricsAddress?: string;
  host: string;
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
    .action(async (f: NodeFlags) => {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      const nacre = fileURLToPath(new URL('../nacre.ts', import.meta.url));
      const g = program.opts<{ logFormat: string; logLevel: string; debug: string }>();
      const node = await startCsiNode({
        endpoint: f.csiEndpoint,
        nodeId: f.nodeId,
        stateDir: f.stateDir,
        kubeletDir: f.kubeletDir,
        ...(f.metricsAddress !== undefined && { metricsAddress: f.metricsAddress }),
        keeperCommand: (source, target, stateFile, logFile) => ({
          command: process.execPath,
          args: [
            nacre,
            `--log-format=${g.logFormat}`,
            `--log-level=${g.logLevel}`,
            ...(g.debug ? [`--debug=${g.debug}`] : []),
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
