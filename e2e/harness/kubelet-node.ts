// One kubelet node on the host: containerd and a kubelet in the node's network namespace and cgroup, started and removed.

import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, rm, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ExecRunner } from '../../src/lib/command-runner.ts';
import { NacreError } from '../../src/lib/errors.ts';
import { waitFor } from '../../src/lib/wait-for.ts';
import { detachCopiedFuseMounts } from './copied-mounts.ts';
import { cniConfig, cniNetworkName, containerdConfig, kubeletConfig, nodePaths } from './node-config.ts';
import {
  createNodeCgroup,
  joinCgroupScript,
  killNodeProcesses,
  removeNodeCgroup,
  unmountAllUnder,
} from './node-host.ts';
import type { NodeAddressing } from './node-network.ts';
import { issueNodeCert, pkiFiles } from './pki.ts';
import { isAlive, logTail, type ProcessRecord, spawnServer, stopServer } from './processes.ts';

/** What nodes.json records of one node: enough for another process to remove it. */
export interface NodeRecord {
  name: string;
  slot: number;
  addressing: NodeAddressing;
  dir: string;
  /** The path the node's processes see their own file system at (the same on every node). */
  root: string;
  /** The file the node's mount namespace is bound to. */
  mountNamespace: string;
  /** The node's PID 1 as the host sees it (the namespaces its daemons join). */
  initPid?: number;
  /** The cgroup (in every hierarchy) that holds the node's daemons, shims and containers. */
  cgroup: string;
  processes: ProcessRecord[];
}

export interface NodeTools {
  kubelet: string;
  containerd: string;
  ctr: string;
  kubeProxy: string;
  /** The static pause program: each node's PID 1. */
  pause: string;
  runc: string;
  cniBinDir: string;
}

export interface StartNodeOptions {
  record: NodeRecord;
  tools: NodeTools;
  /** The admin's kubeconfig (kube-proxy). */
  kubeconfig: string;
  /** The API server's URL. */
  server: string;
  /** The cluster's PKI directory (the CA signs each kubelet's client certificate). */
  pkiDir: string;
  caFile: string;
  pauseImage: string;
  /** The cluster DNS Service's address, the pods' nameserver. */
  clusterDns: string;
  /** Every node's pod ranges together (kube-proxy's --cluster-cidr). */
  clusterCidr: string;
  /** Image archives imported into the node's containerd before the kubelet starts. */
  images: string[];
  logDir: string;
  keep: boolean;
  /** Called after each process starts, so the record on disk stays current. */
  onChange: () => Promise<void>;
  signal?: AbortSignal;
}

const runner = new ExecRunner();
const CTR_DEADLINE_MS = 120_000;
/** Where libcni caches results (containerd does not move it) and where the kubelet links container logs. */
const CNI_CACHE = '/var/lib/cni/results';
const CONTAINER_LOG_LINKS = '/var/log/containers';
/** containerd's shim sockets: /run/containerd/s/<sha256 of address/namespace/id>. */
const SHIM_SOCKETS = '/run/containerd/s';

const recordPaths = (r: NodeRecord) => nodePaths(r.dir, r.root, r.mountNamespace);

/**
 * Makes the node's mount namespace (a slave of the host's: the host's mounts show in it, its own
 * stay in it) with `<dir>/root` bound, shared, at the common root path. `root` must exist on the
 * host, and `mountNamespace` must lie on a private mount.
 */
async function createMountNamespace(p: ReturnType<typeof nodePaths>, signal?: AbortSignal): Promise<void> {
  await mkdir(p.rootSource, { recursive: true });
  // The mount point on the host (the kubelet's own default dir; left there, empty, by `down`).
  for (const d of [join(p.rootSource, 'kubelet'), p.kubeletRoot]) await mkdir(d, { recursive: true });
  await writeFile(p.mountNamespace, '');
  const run = async (command: string, args: string[]) => {
    const r = await runner.run(command, args, { timeoutMs: 15_000, ...(signal ? { signal } : {}) });
    if (r.code !== 0)
      throw new NacreError('MountNamespaceFailed', `${command} ${args.join(' ')}: ${r.stderr.trim()}`);
  };
  await run('unshare', [`--mount=${p.mountNamespace}`, '--propagation', 'slave', 'true']);
  await run('nsenter', [
    `--mount=${p.mountNamespace}`,
    '--',
    'sh',
    '-c',
    `mount --bind '${p.rootSource}' '${p.root}' && mount --make-rshared '${p.root}' && ` +
      `mount --bind '${p.rootSource}/kubelet' '${p.kubeletRoot}' && mount --make-rshared '${p.kubeletRoot}'`,
  ]);
}

/** Starts containerd, imports the images, starts the kubelet and kube-proxy; resolves once they run (not yet Ready). */
export async function startNode(o: StartNodeOptions): Promise<void> {
  const { record } = o;
  const p = recordPaths(record);
  await createMountNamespace(p, o.signal);
  await detachCopiedFuseMounts(runner, p.mountNamespace, o.signal);
  for (const d of [p.containerdRoot, p.containerdState, p.cniConfDir, p.cniDataDir])
    await mkdir(d, { recursive: true });
  for (const d of ['kubelet', 'pod-logs']) await mkdir(join(p.rootSource, d), { recursive: true });
  await writeFile(
    p.containerdConfig,
    containerdConfig(p, { pauseImage: o.pauseImage, runc: o.tools.runc, cniBinDir: o.tools.cniBinDir }),
  );
  await writeFile(join(p.cniConfDir, '10-nacre.conflist'), cniConfig(p, record.addressing, record.slot));
  await writeFile(
    p.kubeletConfig,
    kubeletConfig(p, record.addressing, {
      cgroupRoot: `/${record.cgroup}`,
      caFile: o.caFile,
      clusterDns: o.clusterDns,
    }),
  );
  await createNodeCgroup(record.cgroup);
  const enter = await joinCgroupScript(record.cgroup);
  const quote = (argv: string[]) => argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  // The node's PID 1: the pause program in a new PID namespace, with /proc remounted for it in
  // the node's mount namespace; every daemon joins its namespaces, so a hostPID pod sees the node.
  const init = await spawnServer({
    name: `${record.name}-init`,
    command: 'sh',
    args: [
      '-c',
      `${enter} && exec nsenter --mount=${p.mountNamespace} --net=/run/netns/${record.addressing.netns} -- ` +
        `unshare --pid --fork --kill-child -- sh -c ${quote([`mount -t proc proc /proc && exec ${quote([o.tools.pause])}`])}`,
    ],
    logFile: join(o.logDir, `${record.name}-init.log`),
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    keep: o.keep,
  });
  record.processes.push(init);
  await o.onChange();
  record.initPid = await waitFor(
    `${record.name}'s init to start`,
    async () => {
      const children = await readFile(`/proc/${init.pid}/task/${init.pid}/children`, 'utf8').catch(() => '');
      const pid = Number(children.trim().split(' ')[0]);
      if (!pid) return undefined;
      // Its /proc is the node's once the mount is made: then the namespaces are ready to join.
      const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      return cmd.startsWith(o.tools.pause) ? pid : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
  await o.onChange();
  const start = async (name: string, command: string, args: string[]) => {
    const quoted = quote([command, ...args]);
    const rec = await spawnServer({
      name: `${record.name}-${name}`,
      command: 'sh',
      args: ['-c', `${enter} && exec nsenter --target ${record.initPid} --mount --net --pid -- ${quoted}`],
      logFile: join(o.logDir, `${record.name}-${name}.log`),
      // The shim is found on PATH beside containerd; runc and the CNI plugins by absolute path.
      env: {
        PATH: `${dirname(o.tools.containerd)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        HOME: record.dir,
      },
      keep: o.keep,
    });
    record.processes.push(rec);
    await o.onChange();
    return rec;
  };
  const containerd = await start('containerd', o.tools.containerd, ['--config', p.containerdConfig]);
  await waitFor(
    `${record.name}'s containerd to answer on ${p.containerdSocket}`,
    async () => {
      if (!(await isAlive(containerd)))
        throw new NacreError(
          'ServerExited',
          `containerd exited; ${containerd.logFile} ends:\n${await logTail(containerd.logFile)}`,
        );
      const r = await ctr(o.tools.ctr, p.containerdSocket, ['version'], o.signal);
      return r.code === 0;
    },
    { timeoutMs: 60_000, intervalMs: 200, ...(o.signal ? { signal: o.signal } : {}) },
  );
  for (const image of o.images) await importImage(o.tools.ctr, p.containerdSocket, image, o.signal);
  // The kubelet speaks as system:node:<name> (Node authorizer); kube-proxy as the admin.
  const client = await issueNodeCert(pkiFiles(o.pkiDir), join(record.dir, 'pki'), record.name, o.signal);
  const kubeletKubeconfig = join(record.dir, 'kubelet.kubeconfig');
  await writeFile(kubeletKubeconfig, nodeKubeconfig(o.server, o.caFile, client), { mode: 0o600 });
  await start('kubelet', o.tools.kubelet, [
    `--config=${p.kubeletConfig}`,
    `--kubeconfig=${kubeletKubeconfig}`,
    `--root-dir=${p.kubeletRoot}`,
    `--hostname-override=${record.name}`,
    `--node-ip=${record.addressing.ip}`,
    `--cert-dir=${join(p.kubeletRoot, 'pki')}`,
  ]);
  // iptables mode inside the node's namespace; conntrack limits are the host's, left alone.
  await start('kube-proxy', o.tools.kubeProxy, [
    `--kubeconfig=${o.kubeconfig}`,
    `--hostname-override=${record.name}`,
    '--proxy-mode=iptables',
    `--cluster-cidr=${o.clusterCidr}`,
    '--metrics-bind-address=127.0.0.1:10249',
    '--healthz-bind-address=127.0.0.1:10256',
    '--conntrack-max-per-core=0',
    '--conntrack-tcp-timeout-established=0',
    '--conntrack-tcp-timeout-close-wait=0',
  ]);
}

function nodeKubeconfig(server: string, caFile: string, client: { cert: string; key: string }): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: nacre-local
  cluster: { server: ${JSON.stringify(server)}, certificate-authority: ${JSON.stringify(caFile)} }
users:
- name: kubelet
  user: { client-certificate: ${JSON.stringify(client.cert)}, client-key: ${JSON.stringify(client.key)} }
contexts:
- name: kubelet
  context: { cluster: nacre-local, user: kubelet }
current-context: kubelet
`;
}

function ctr(ctrPath: string, socket: string, args: string[], signal?: AbortSignal) {
  return runner.run(ctrPath, ['--address', socket, '--namespace', 'k8s.io', ...args], {
    timeoutMs: CTR_DEADLINE_MS,
    ...(signal ? { signal } : {}),
  });
}

/** `ctr images import` of one archive into the node's k8s.io namespace (what the kubelet sees). */
export async function importImage(
  ctrPath: string,
  socket: string,
  archive: string,
  signal?: AbortSignal,
): Promise<void> {
  const r = await ctr(ctrPath, socket, ['images', 'import', '--no-unpack=false', archive], signal);
  if (r.code !== 0)
    throw new NacreError(
      'ImageImportFailed',
      `ctr images import ${archive}: ${(r.stderr || r.stdout).trim()}`,
    );
}

/**
 * Removes the node entirely: the kubelet gets SIGTERM first, then every process in its cgroup
 * (containerd, shims, containers) is killed, every mount under its dir unmounted, its cgroups,
 * libcni's cached results, log links and shim sockets removed. Safe to call on a half-started or
 * already removed node.
 */
export async function removeNode(record: NodeRecord): Promise<void> {
  const kubelet = record.processes.find((p) => p.name.endsWith('-kubelet'));
  if (kubelet) await stopServer(kubelet);
  await killNodeProcesses(record.cgroup);
  for (const rec of record.processes) await stopServer(rec); // a daemon outside the cgroup (join failed)
  // Its last process gone, the node's mount namespace (and every mount in it) goes with this unmount.
  await unmountAllUnder(record.mountNamespace);
  await unmountAllUnder(record.dir);
  await removeNodeCgroup(record.cgroup);
  const p = recordPaths(record);
  const network = cniNetworkName(record.addressing, record.slot);
  for (const f of await readdir(CNI_CACHE).catch(() => [] as string[]))
    if (f.startsWith(`${network}-`)) await rm(join(CNI_CACHE, f), { force: true });
  for (const f of await readdir(CONTAINER_LOG_LINKS).catch(() => [] as string[])) {
    const target = await readlink(join(CONTAINER_LOG_LINKS, f)).catch(() => '');
    if (target.startsWith(`${p.podLogs}/`)) await unlink(join(CONTAINER_LOG_LINKS, f)).catch(() => {});
  }
  const tasks = join(p.containerdState, 'io.containerd.runtime.v2.task');
  for (const ns of await readdir(tasks).catch(() => [] as string[])) {
    for (const id of await readdir(join(tasks, ns)).catch(() => [] as string[])) {
      for (const path of [join(p.containerdSocket, ns, id), join(p.containerdSocket, ns, id, 'debug')]) {
        const hash = createHash('sha256').update(path).digest('hex');
        await rm(join(SHIM_SOCKETS, hash), { force: true });
      }
    }
  }
}
