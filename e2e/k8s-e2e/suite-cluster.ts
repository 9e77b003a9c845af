// The cluster `npm run test:k8s-e2e` runs the suite on: kubelet nodes, the suite's images, the snapshot CRDs and controller, Nacre by its chart; its pods' logs and its removal.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ExecRunner } from '../../src/lib/command-runner.ts';
import { NacreError } from '../../src/lib/errors.ts';
import { waitFor } from '../../src/lib/wait-for.ts';
import { kubectl, leftovers, type NodeCluster, startNodeCluster } from '../harness/nodes.ts';
import { writeImageArchive } from '../harness/oci-image.ts';
import { type ProcessRecord, spawnServer, stopServer } from '../harness/processes.ts';
import { toolPath } from '../harness/tools.ts';
import {
  archiveImageName,
  CHART,
  localVolumes,
  nacreImage,
  releaseValues,
  sidecarImages,
  writeJson,
} from '../nodes/nacre-release.ts';
import { suiteImages } from './suite-images.ts';

export interface SuiteCluster {
  kubeconfig: string;
  nodeCluster: NodeCluster;
  /** Writes every pod's log in `namespace` (and the previous container's, when it restarted) under `dir`. */
  collectLogs(dir: string): Promise<void>;
  /** Stops the snapshot controller and removes the nodes and control plane; resolves with what is left on the machine. */
  stop(): Promise<string[]>;
}

const runner = new ExecRunner();

/** The csi-snapshotter sidecar as an image, from the binary build-tools.sh builds. */
async function snapshotterImage(
  dir: string,
  signal?: AbortSignal,
): Promise<{ archive: string; image: string }> {
  const binary = await toolPath('csi-snapshotter', signal);
  const image = 'nacre.local/csi-snapshotter:1';
  const archive = join(dir, 'csi-snapshotter.tar');
  await writeImageArchive(archive, {
    name: image,
    entries: [{ type: 'file', path: 'csi-snapshotter', mode: 0o755, data: await readFile(binary) }],
    entrypoint: ['/csi-snapshotter'],
  });
  return { archive, image };
}

/**
 * Two (or `count`) kubelet nodes with Nacre's image, the sidecars' and the suite's imported, the
 * VolumeSnapshot CRDs and snapshot-controller (a host process with the admin kubeconfig, as the
 * chart's install test runs it), and Nacre installed by its chart into `namespace`; resolves once
 * every node plugin is Ready and registered with its kubelet and the emulator's servers run.
 */
export async function startSuiteCluster(o: {
  dir: string;
  namespace: string;
  count: number;
  imageArchive?: string;
  /** Helm values over the harness's (merged key by key). */
  values?: Record<string, unknown>;
  progress: (line: string) => void;
  signal: AbortSignal;
}): Promise<SuiteCluster> {
  const { signal, progress, namespace } = o;
  const images = join(o.dir, 'images');
  await mkdir(images, { recursive: true });
  progress("building Nacre's image (scripts/build-image-oci.sh) and the suite's images");
  const nacre = await nacreImage(o.imageArchive, signal);
  const sidecars = await sidecarImages(images, signal);
  const snapshotter = await snapshotterImage(images, signal);
  const suite = await suiteImages(images, signal);
  const nodeCluster = await startNodeCluster({
    count: o.count,
    images: [nacre, ...sidecars.archives, snapshotter.archive, ...suite],
    signal,
    progress,
  });
  const cluster = nodeCluster.cluster;
  const k = (args: string[], timeoutMs = 120_000) =>
    kubectl(cluster, args, AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]));
  let snapshotController: ProcessRecord | undefined;
  const stop = async () => {
    if (snapshotController) await stopServer(snapshotController);
    const state = nodeCluster.nodes;
    await nodeCluster.stop();
    return leftovers(state);
  };
  try {
    const crdDir = join(dirname(await toolPath('csi-snapshotter', signal)), 'crd');
    for (const f of await readdir(crdDir)) await k(['apply', '-f', join(crdDir, f)]);
    await k([
      ...['wait', '--for=condition=Established', '--timeout=60s'],
      ...['volumesnapshots', 'volumesnapshotcontents', 'volumesnapshotclasses'].map(
        (kind) => `crd/${kind}.snapshot.storage.k8s.io`,
      ),
    ]);
    snapshotController = await spawnServer({
      name: 'snapshot-controller',
      command: await toolPath('snapshot-controller', signal),
      args: [`--kubeconfig=${cluster.kubeconfigPath}`, '--leader-election=false'],
      logFile: join(nodeCluster.nodes.dir, 'logs', 'snapshot-controller.log'),
      keep: false,
    });
    await k([
      'apply',
      '-f',
      await writeJson(join(o.dir, 'local-pvs.json'), await localVolumes(nodeCluster.nodes, 2, '10Gi')),
    ]);
    const values = releaseValues(nodeCluster.nodes, await archiveImageName(nacre, signal), {
      ...sidecars.values,
      snapshotter: { enabled: true, image: snapshotter.image },
    }) as Record<string, unknown>;
    const valuesFile = await writeJson(join(o.dir, 'values.json'), merge(values, o.values ?? {}));
    progress(`helm install nacre into ${namespace}`);
    const r = await runner.run(
      await toolPath('helm', signal),
      [
        ...['--kubeconfig', cluster.kubeconfigPath, 'install', 'nacre', CHART],
        ...['-n', namespace, '--create-namespace', '-f', valuesFile],
      ],
      { timeoutMs: 300_000, signal },
    );
    if (r.code !== 0) throw new NacreError('HelmFailed', `helm install: ${r.stderr.trim()}`);
    await waitReleaseReady(
      k,
      namespace,
      nodeCluster.nodes.nodes.map((n) => n.name),
      signal,
    );
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return {
    kubeconfig: cluster.kubeconfigPath,
    nodeCluster,
    collectLogs: (dir) => collectLogs(k, namespace, dir),
    stop,
  };
}

/** `over` laid on `base`: objects merge key by key, anything else replaces. */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const old = out[key];
    const isObject = (v: unknown): v is Record<string, unknown> =>
      typeof v === 'object' && v !== null && !Array.isArray(v);
    out[key] = isObject(old) && isObject(value) ? merge(old, value) : value;
  }
  return out;
}

type Kubectl = (args: string[], timeoutMs?: number) => Promise<string>;

async function waitReleaseReady(k: Kubectl, ns: string, nodes: string[], signal: AbortSignal): Promise<void> {
  const opts = { timeoutMs: 600_000, intervalMs: 2000, retryErrors: true, signal };
  await waitFor(
    'a Ready node plugin on every node',
    async () =>
      (await k([
        ...['-n', ns, 'get', 'daemonset', 'nacre-node', '-o'],
        'jsonpath={.status.numberReady}/{.status.desiredNumberScheduled}',
      ])) === `${nodes.length}/${nodes.length}`,
    opts,
  );
  await waitFor(
    'every kubelet to list csi.nacre.dev in its CSINode',
    async () => {
      const out = await k([
        ...['get', 'csinode', '-o'],
        'jsonpath={range .items[*]}{.metadata.name}={.spec.drivers[*].name}{"\\n"}{end}',
      ]);
      return nodes.every((n) => out.includes(`${n}=csi.nacre.dev`));
    },
    opts,
  );
  for (const w of ['deployment/nacre-controller', 'statefulset/nacre-mgs', 'statefulset/nacre-mds'])
    await k(['-n', ns, 'rollout', 'status', w, '--timeout=600s'], 620_000);
}

async function collectLogs(k: Kubectl, ns: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const pods = (await k(['-n', ns, 'get', 'pods', '-o', 'jsonpath={.items[*].metadata.name}']))
    .trim()
    .split(/\s+/);
  for (const pod of pods.filter(Boolean)) {
    for (const previous of [false, true]) {
      const log = await k(
        ['-n', ns, 'logs', pod, '--all-containers', '--prefix', ...(previous ? ['--previous'] : [])],
        300_000,
      ).catch(() => undefined);
      if (log) await writeFile(join(dir, `${pod}${previous ? '.previous' : ''}.log`), log);
    }
  }
  await writeFile(
    join(dir, 'pods.txt'),
    await k(['get', 'pods', '-A', '-o', 'wide']).catch((e: unknown) => String(e)),
  );
}
