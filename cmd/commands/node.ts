// `nacre node`: the CSI node plugin (Identity + Node services) of one Kubernetes node.
import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { announceReady } from '../../src/lib/supervisor.ts';
import { keeperKeyArgs } from './data-plane.ts';
import { keeperCommand } from './keeper-command.ts';
import { defaultHost } from './options.ts';

interface NodeFlags {
  csiEndpoint: string;
  nodeId: string;
  stateDir: string;
  kubeletDir: string;
  metricsAddress?: string;
  host: string;
  keeperCommand?: string;
  mountHolder?: string;
  registrationDir?: string;
  kubeletRegistrationPath?: string;
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
    .option(
      '--mount-holder <socket>',
      "ask the mount holder on this socket (nacre mount-holder, the chart's mounter DaemonSet) to start and keep " +
        "the FUSE keepers, so they outlive this plugin's container; it must share --state-dir",
    )
    .option(
      '--registration-dir <dir>',
      "register the driver with the kubelet by serving <dir>/csi.nacre.dev-reg.sock (the kubelet's " +
        'plugins_registry directory, e.g. /var/lib/kubelet/plugins_registry), as node-driver-registrar does',
    )
    .option(
      '--kubelet-registration-path <path>',
      'the CSI socket as the kubelet sees it, on the host (default: the path of --csi-endpoint)',
    )
    .action(async (f: NodeFlags) => {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      await mkdir(f.stateDir, { recursive: true });
      const keyArgs = await keeperKeyArgs(program, f.stateDir, AbortSignal.timeout(10_000));
      // gRPC and the CSI node service are loaded by this command only.
      const { startCsiNode } = await import('../../src/csi/run-csi-node.ts');
      const { socketPathOf } = await import('../../src/csi/server.ts');
      const node = await startCsiNode({
        endpoint: f.csiEndpoint,
        nodeId: f.nodeId,
        stateDir: f.stateDir,
        kubeletDir: f.kubeletDir,
        ...(f.metricsAddress !== undefined && { metricsAddress: f.metricsAddress }),
        ...(f.registrationDir !== undefined && {
          registration: {
            dir: f.registrationDir,
            kubeletEndpoint: f.kubeletRegistrationPath ?? socketPathOf(f.csiEndpoint),
          },
        }),
        // A container's processes all die with it: keepers must be started where they outlive it.
        keeperCommand: keeperCommand(program, f.keeperCommand, keyArgs, f.host),
        ...(f.mountHolder !== undefined && { mountHolder: f.mountHolder }),
        signal: stop.signal,
      });
      announceReady({ address: f.csiEndpoint, nodeId: f.nodeId });
      await new Promise<void>((resolve) =>
        stop.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
      await node.close();
    });
}
