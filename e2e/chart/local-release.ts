// Runs an installed release's pods as local processes: the emulator's servers, the node OSSes on two nodes and the controller with its CSI sidecar, from the manifests helm installed.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeadlineExceededError } from '../../src/lib/errors.ts';
import type { Cluster } from '../harness/cluster.ts';
import { logTail, type ProcessRecord, pollUntil, spawnServer, stopServer } from '../harness/processes.ts';
import { toolPath } from '../harness/tools.ts';
import { find, type KubeObject, type PodSpec, podSpec, run } from './helm.ts';
import { type LocalPod, type LocalWorld, localCommand, localPod } from './local-pods.ts';

const NACRE = join(import.meta.dirname, '..', '..', 'cmd', 'nacre.ts');

export interface LocalRelease {
  pods: Map<string, LocalPod>;
  /** Local URL of /metrics of each started container, by "<pod>/<container>". */
  metrics: Map<string, string>;
  processes: ProcessRecord[];
  world: LocalWorld;
  stop(): Promise<void>;
}

/** What a pod of this workload would be called, on which node, for the containers to start. */
export interface PodPlan {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  workload: string;
  pod: string;
  node: string;
  containers: string[];
  /** Cluster DNS names this pod answers. */
  hosts: string[];
}

/** A kubeconfig holding a token of `account` (TokenRequest), as the kubelet would mount it. */
async function accountKubeconfig(
  cluster: Cluster,
  namespace: string,
  account: string,
  dir: string,
): Promise<string> {
  const token = (
    await run(cluster.tools.kubectl, [
      '--kubeconfig',
      cluster.kubeconfigPath,
      '-n',
      namespace,
      'create',
      'token',
      account,
      '--duration=2h',
    ])
  ).trim();
  const file = join(dir, `${account}.kubeconfig`);
  const ca = Buffer.from(cluster.caPem).toString('base64');
  await writeFile(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{ name: c, cluster: { server: "${cluster.server}", certificate-authority-data: "${ca}" } }]`,
      `users: [{ name: ${account}, user: { token: "${token}" } }]`,
      `contexts: [{ name: c, context: { cluster: c, user: ${account}, namespace: ${namespace} } }]`,
      'current-context: c',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return file;
}

/** The release's Secrets, decoded, as the kubelet would hand them to containers. */
async function secrets(cluster: Cluster, namespace: string): Promise<Map<string, Record<string, string>>> {
  const out = await run(cluster.tools.kubectl, [
    '--kubeconfig',
    cluster.kubeconfigPath,
    '-n',
    namespace,
    'get',
    'secrets',
    '-o',
    'json',
  ]);
  const list = JSON.parse(out) as { items: { metadata: { name: string }; data?: Record<string, string> }[] };
  return new Map(
    list.items.map((s) => [
      s.metadata.name,
      Object.fromEntries(
        Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
      ),
    ]),
  );
}

/**
 * Starts `plans` in order from the installed `manifests`, each container once its predecessors
 * answer /readyz, and resolves when all do. On failure everything started is stopped.
 */
export async function startLocalRelease(opts: {
  cluster: Cluster;
  namespace: string;
  manifests: KubeObject[];
  plans: PodPlan[];
  dir: string;
  readyTimeoutMs?: number;
  /** Pods of an earlier run to start again with the same ports and directories (a restart or upgrade). */
  reuse?: Map<string, LocalPod>;
}): Promise<LocalRelease> {
  const { cluster, namespace, dir } = opts;
  await mkdir(join(dir, 'logs'), { recursive: true });
  const specs = new Map<string, PodSpec>();
  const pods = new Map<string, LocalPod>();
  const world: LocalWorld = {
    namespace,
    root: dir,
    hosts: new Map(),
    secrets: await secrets(cluster, namespace),
    nacre: [process.execPath, NACRE],
    images: new Map([
      ['registry.k8s.io/sig-storage/csi-provisioner', cluster.tools.provisioner],
      ['registry.k8s.io/sig-storage/csi-resizer', await toolPath('csi-resizer')],
      ['registry.k8s.io/sig-storage/csi-snapshotter', await toolPath('csi-snapshotter')],
    ]),
    kubeconfigs: new Map(),
  };
  for (const plan of opts.plans) {
    const spec = podSpec(find(opts.manifests, plan.kind, plan.workload));
    specs.set(plan.pod, spec);
    // A Deployment's pod is a new pod after a restart (new ports); the others keep their addresses,
    // which the MGS has registered (an OSS) or Services name.
    const kept = plan.kind === 'Deployment' ? undefined : opts.reuse?.get(plan.pod);
    const pod = kept ?? (await localPod(plan.pod, plan.node, spec, join(dir, 'pods', plan.pod)));
    pods.set(plan.pod, pod);
    for (const h of plan.hosts) world.hosts.set(h, pod);
    const account = spec.serviceAccountName;
    if (account && spec.automountServiceAccountToken !== false && !world.kubeconfigs?.has(account))
      world.kubeconfigs?.set(account, await accountKubeconfig(cluster, namespace, account, dir));
  }
  const processes: ProcessRecord[] = [];
  const metrics = new Map<string, string>();
  const stop = async () => {
    for (const p of processes.toReversed()) await stopServer(p);
  };
  try {
    for (const plan of opts.plans) {
      for (const name of plan.containers) {
        const pod = pods.get(plan.pod)!;
        const cmd = await localCommand(specs.get(plan.pod)!, name, pod, world);
        const rec = await spawnServer({
          name: `${plan.pod}/${name}`,
          command: cmd.command,
          args: cmd.args,
          logFile: await unusedLogPath(join(dir, 'logs'), `${plan.pod}-${name}`),
          env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: pod.dir, ...cmd.env },
          keep: false,
        });
        processes.push(rec);
        if (!cmd.readyUrl) continue;
        metrics.set(`${plan.pod}/${name}`, cmd.readyUrl.replace(/\/readyz$/, '/metrics'));
        const url = cmd.readyUrl;
        const ready = await pollUntil(
          async () =>
            (await fetch(url, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined))?.ok === true,
          opts.readyTimeoutMs ?? 60_000,
          { intervalMs: 200 },
        );
        if (!ready)
          throw new DeadlineExceededError(
            `${plan.pod}/${name} did not answer ${url}; its log ends:\n${await logTail(rec.logFile)}`,
          );
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { pods, metrics, processes, world, stop };
}

/** `<base>.log` in `logDir`, or after a restart `<base>.<n>.log`: a started pod's log is never overwritten. */
async function unusedLogPath(logDir: string, base: string): Promise<string> {
  const taken = new Set(await readdir(logDir));
  if (!taken.has(`${base}.log`)) return join(logDir, `${base}.log`);
  let n = 1;
  while (taken.has(`${base}.${n}.log`)) n++;
  return join(logDir, `${base}.${n}.log`);
}

/** Processes whose command line names a path under `dir` (a release's servers, FUSE keepers, sidecars). */
export async function processesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(dir)) out.push(`${pid}: ${cmdline.replaceAll('\0', ' ').trim()}`);
  }
  return out;
}

/** Mount points under `dir`, from this mount namespace's mountinfo. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}
