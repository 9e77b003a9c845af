// A control plane with kubelet nodes: network, API server on the bridge, kube-scheduler, N nodes with images; and its removal.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecRunner } from '../../src/lib/command-runner.ts';
import { NacreError } from '../../src/lib/errors.ts';
import { waitFor } from '../../src/lib/wait-for.ts';
import {
  type Cluster,
  type ClusterState,
  loadClusterState,
  type MinioOptions,
  startCluster,
  stopState,
} from './cluster.ts';
import { corednsImage, deployClusterDns } from './cluster-dns.ts';
import { type NodeRecord, removeNode, startNode } from './kubelet-node.ts';
import { cgroupLeftovers, makePrivateMount, mountsUnder, nodePids, unmountAllUnder } from './node-host.ts';
import {
  createNetwork,
  freeSlot,
  type NodeNetwork,
  networkLeftovers,
  planNetwork,
  removeNetwork,
} from './node-network.ts';
import { busyboxImage, pauseImage, writeImageArchive } from './oci-image.ts';
import { logTail, type ProcessRecord, spawnServer, stopServer } from './processes.ts';
import { toolPaths } from './tools.ts';

/** The images every node has, imported from archives (no registry is reachable). */
export const PAUSE_IMAGE = 'nacre.local/pause:1';
export const BUSYBOX_IMAGE = 'nacre.local/busybox:1';
/** The cluster DNS Service's ClusterIP (in the API server's 10.0.0.0/24). */
export const CLUSTER_DNS_IP = '10.0.0.10';

/** What `<dir>/nodes.json` holds. Written before anything is made, so `down` can remove a half-made cluster. */
export interface NodesState {
  version: 1;
  dir: string;
  network: NodeNetwork;
  nodesDir: string;
  /** The path every node sees its own file system at (empty on the host). */
  nodeRoot: string;
  /** A private mount holding each node's mount-namespace file. */
  namespacesDir: string;
  scheduler?: ProcessRecord;
  nodes: NodeRecord[];
}

export interface NodeCluster {
  cluster: Cluster;
  nodes: NodesState;
  /** Removes nodes, control plane, network and the directory (if it made it). Idempotent. */
  stop(): Promise<void>;
}

export interface StartNodeClusterOptions {
  count: number;
  /** State directory; by default a fresh temp dir that stop() removes. */
  dir?: string;
  keep?: boolean;
  minio?: boolean | MinioOptions;
  /** More image archives for every node's containerd (e.g. Nacre's own). */
  images?: string[];
  /** Deadline for every node to be Ready, once started. Default 180 s. */
  readyTimeoutMs?: number;
  progress?: (message: string) => void;
  signal?: AbortSignal;
}

const NODES_FILE = 'nodes.json';
const runner = new ExecRunner();

/**
 * Starts the network, the control plane on the bridge address, kube-scheduler, `count` Ready nodes
 * (containerd, kubelet, kube-proxy) and the cluster DNS.
 */
export async function startNodeCluster(o: StartNodeClusterOptions): Promise<NodeCluster> {
  const progress = o.progress ?? (() => {});
  const signal = o.signal;
  const [kubelet, scheduler, kubeProxy, containerd, , ctr, pause, coredns] = await toolPaths(
    [
      'kubelet',
      'kube-scheduler',
      'kube-proxy',
      'containerd',
      'containerd-shim-runc-v2',
      'ctr',
      'pause',
      'coredns',
    ],
    signal,
  );
  const ownsDir = o.dir === undefined;
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'nacre-nodes-')));
  await mkdir(join(dir, 'logs'), { recursive: true });
  const network = planNetwork(await freeSlot(), o.count);
  const nodesDir = join(dir, 'nodes');
  const nodeRoot = join(dir, 'node-root');
  const namespacesDir = join(dir, 'mount-namespaces');
  const state: NodesState = { version: 1, dir, network, nodesDir, nodeRoot, namespacesDir, nodes: [] };
  for (const addr of network.nodes) {
    const name = `nacre-node-${addr.ordinal}`;
    state.nodes.push({
      name,
      slot: network.slot,
      addressing: addr,
      dir: join(nodesDir, name),
      root: nodeRoot,
      mountNamespace: join(namespacesDir, name),
      cgroup: `nacre-s${network.slot}-${name}`,
      processes: [],
    });
  }
  await saveNodes(state);
  let cluster: Cluster | undefined;
  const stop = async () => {
    await stopNodeCluster(state, cluster?.state);
    if (ownsDir) await rm(dir, { recursive: true, force: true });
  };
  try {
    progress(
      `network ${network.bridge} ${network.hostIp}/24, namespaces ${network.nodes.map((n) => n.netns).join(' ')}`,
    );
    await createNetwork(network, signal);
    cluster = await startCluster({
      dir,
      keep: o.keep ?? false,
      address: network.hostIp,
      minio: o.minio ?? false,
      progress,
      ...(signal ? { signal } : {}),
    });
    const env = { HOME: dir, PATH: '/usr/local/bin:/usr/bin:/bin' };
    progress('starting kube-scheduler');
    state.scheduler = await spawnServer({
      name: 'kube-scheduler',
      command: scheduler!,
      args: [
        `--kubeconfig=${cluster.kubeconfigPath}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        '--secure-port=0',
      ],
      logFile: join(dir, 'logs', 'kube-scheduler.log'),
      env,
      keep: o.keep ?? false,
    });
    await saveNodes(state);
    const images = join(dir, 'images');
    await mkdir(images, { recursive: true });
    await writeImageArchive(join(images, 'pause.tar'), await pauseImage(PAUSE_IMAGE, pause!));
    const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8', timeout: 10_000 }).split(
      '\n',
    );
    await writeImageArchive(
      join(images, 'busybox.tar'),
      await busyboxImage(BUSYBOX_IMAGE, '/bin/busybox', applets),
    );
    await writeImageArchive(join(images, 'coredns.tar'), await corednsImage(coredns!));
    for (const d of [nodesDir, nodeRoot, namespacesDir]) await mkdir(d, { recursive: true });
    await makePrivateMount(namespacesDir);
    for (const record of state.nodes) {
      progress(`starting ${record.name} (${record.addressing.ip}, pods ${record.addressing.podCidr})`);
      await startNode({
        record,
        tools: {
          kubelet: kubelet!,
          containerd: containerd!,
          ctr: ctr!,
          kubeProxy: kubeProxy!,
          pause: pause!,
          runc: '/usr/sbin/runc',
          cniBinDir: '/usr/lib/cni',
        },
        clusterDns: CLUSTER_DNS_IP,
        clusterCidr: network.clusterCidr,
        kubeconfig: cluster.kubeconfigPath,
        server: cluster.server,
        pkiDir: join(dir, 'pki'),
        caFile: join(dir, 'pki', 'ca.crt'),
        pauseImage: PAUSE_IMAGE,
        images: [
          ...['pause', 'busybox', 'coredns'].map((i) => join(images, `${i}.tar`)),
          ...(o.images ?? []),
        ],
        logDir: join(dir, 'logs'),
        keep: o.keep ?? false,
        onChange: () => saveNodes(state),
        ...(signal ? { signal } : {}),
      });
    }
    await waitNodesReady(cluster, state, o.readyTimeoutMs ?? 180_000, signal);
    progress(`nodes Ready: ${state.nodes.map((n) => n.name).join(', ')}; starting the cluster DNS`);
    await deployClusterDns((args) => kubectl(cluster!, args, signal), dir, CLUSTER_DNS_IP, 120_000, signal);
  } catch (err) {
    await stopNodeCluster(state, cluster?.state, { keepFiles: true }).catch((e: unknown) =>
      progress(`cleanup after a failed start: ${e instanceof Error ? e.message : String(e)}`),
    );
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    cluster,
    nodes: state,
    stop: () => {
      stopped ??= stop();
      return stopped;
    },
  };
}

/** Runs kubectl against the cluster; rejects with its stderr unless it exits 0. */
export async function kubectl(
  cluster: { kubeconfigPath: string; tools: { kubectl: string } },
  args: string[],
  signal?: AbortSignal,
): Promise<string> {
  const r = await runner.run(cluster.tools.kubectl, [`--kubeconfig=${cluster.kubeconfigPath}`, ...args], {
    timeoutMs: 60_000,
    ...(signal ? { signal } : {}),
  });
  if (r.code !== 0) throw new NacreError('KubectlFailed', `kubectl ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function waitNodesReady(
  cluster: Cluster,
  state: NodesState,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const jsonpath =
    '{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}';
  try {
    await waitFor(
      'every node to be Ready',
      async () => {
        const out = await kubectl(cluster, ['get', 'nodes', '-o', `jsonpath=${jsonpath}`], signal).catch(
          () => '',
        );
        const ready = new Set(
          out
            .split('\n')
            .filter((l) => l.endsWith('=True'))
            .map((l) => l.split('=')[0]),
        );
        return state.nodes.every((n) => ready.has(n.name));
      },
      { timeoutMs, intervalMs: 500, ...(signal ? { signal } : {}) },
    );
  } catch (err) {
    const kubelet = state.nodes.flatMap((n) => n.processes).find((p) => p.name.endsWith('-kubelet'));
    const tail = kubelet ? `\n${kubelet.logFile} ends:\n${await logTail(kubelet.logFile, 25)}` : '';
    throw new NacreError('NodesNotReady', `${(err as Error).message}${tail}`, { cause: err });
  }
}

/**
 * Removes nodes (see removeNode), the scheduler, the control plane (its files, unless keepFiles)
 * and the network. Never removes a file while something is still mounted below the nodes' dir.
 */
export async function stopNodeCluster(
  state: NodesState,
  cluster: ClusterState | undefined,
  opts: { keepFiles?: boolean } = {},
): Promise<void> {
  for (const node of state.nodes) await removeNode(node);
  if (state.scheduler) await stopServer(state.scheduler);
  await unmountAllUnder(state.namespacesDir);
  await unmountAllUnder(state.nodesDir);
  // Before the control plane's files go: a failure here leaves the state for another `down`.
  await removeNetwork(state.network);
  if (cluster) await stopState(cluster, opts);
}

/** Whatever of the cluster is still on the machine: processes, mounts, cgroups, namespaces, links. */
export async function leftovers(state: NodesState): Promise<string[]> {
  const left: string[] = [];
  for (const node of state.nodes) {
    left.push(...(await nodePids(node.cgroup)).map((pid) => `pid ${pid} in ${node.cgroup}`));
    left.push(...(await cgroupLeftovers(node.cgroup)).map((c) => `cgroup ${c}`));
  }
  left.push(...(await mountsUnder(state.dir)).map((m) => `mount ${m}`));
  left.push(...(await networkLeftovers(state.network)));
  return left;
}

/** The nodes recorded in `dir`, or undefined. */
export async function loadNodesState(dir: string): Promise<NodesState | undefined> {
  const text = await readFile(join(dir, NODES_FILE), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as NodesState);
}

/** `down` for a cluster with nodes: removes them, then the control plane, then the network. */
export async function stopNodesInDir(dir: string): Promise<void> {
  const state = await loadNodesState(dir);
  const cluster = await loadClusterState(dir);
  if (state) {
    await stopNodeCluster(state, cluster);
    await rm(join(dir, NODES_FILE), { force: true });
  } else if (cluster) await stopState(cluster);
}

async function saveNodes(state: NodesState): Promise<void> {
  const file = join(state.dir, NODES_FILE);
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}
