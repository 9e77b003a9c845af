// Nacre installed by its chart onto the harness's kubelet nodes: the sidecars' images, local PVs for the emulator's servers, helm values.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExecRunner } from '../../src/lib/command-runner.ts';
import { NacreError } from '../../src/lib/errors.ts';
import { KUBELET_DIR } from '../harness/node-config.ts';
import type { NodesState } from '../harness/nodes.ts';
import { writeImageArchive } from '../harness/oci-image.ts';
import { toolPaths } from '../harness/tools.ts';

export const REPO = join(import.meta.dirname, '..', '..');
export const CHART = join(REPO, 'charts', 'nacre');
const SIDECARS = ['csi-provisioner', 'csi-resizer'] as const;

/** Images of the CSI sidecars the controller runs, from the binaries build-tools.sh builds. */
export async function sidecarImages(
  dir: string,
  signal?: AbortSignal,
): Promise<{ archives: string[]; values: object }> {
  const binaries = await toolPaths(SIDECARS, signal);
  const archives: string[] = [];
  const images: Record<string, string> = {};
  for (const [i, name] of SIDECARS.entries()) {
    const image = `nacre.local/${name}:1`;
    const archive = join(dir, `${name}.tar`);
    await writeImageArchive(archive, {
      name: image,
      entries: [{ type: 'file', path: name, mode: 0o755, data: await readFile(binaries[i]!) }],
      entrypoint: [`/${name}`],
    });
    archives.push(archive);
    images[name] = image;
  }
  return {
    archives,
    values: {
      provisioner: { image: images['csi-provisioner'] },
      resizer: { image: images['csi-resizer'] },
      // Its VolumeSnapshot CRDs are not installed on these nodes.
      snapshotter: { enabled: false },
    },
  };
}

/**
 * Nacre's own image archive: `archive` when given, else what scripts/build-image-oci.sh builds
 * (or finds cached). Rejects with what to do when the script is not in this checkout.
 */
export async function nacreImage(archive: string | undefined, signal?: AbortSignal): Promise<string> {
  if (archive) return archive;
  const script = join(REPO, 'scripts', 'build-image-oci.sh');
  if (!(await readdir(join(REPO, 'scripts'))).includes('build-image-oci.sh'))
    throw new NacreError(
      'NoImage',
      `${script} is missing: Nacre's image cannot be built without a Docker engine here`,
    );
  const r = await new ExecRunner().run('bash', [script], {
    timeoutMs: 30 * 60_000,
    ...(signal ? { signal } : {}),
  });
  if (r.code !== 0)
    throw new NacreError('NoImage', `build-image-oci.sh failed: ${r.stderr.trim().slice(-2000)}`);
  return r.stdout.trim().split('\n').pop()!;
}

/**
 * `perNode` local PersistentVolumes (no storage class) on every node, each a directory of the
 * node's own file system: what the emulator's MGS and MDS StatefulSets claim.
 */
export async function localVolumes(nodes: NodesState, perNode: number, size: string): Promise<object> {
  const items: object[] = [];
  for (const node of nodes.nodes) {
    for (let i = 1; i <= perNode; i++) {
      const name = `${node.name}-pv${i}`;
      await mkdir(join(node.dir, 'root', 'pv', name), { recursive: true });
      items.push({
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name },
        spec: {
          capacity: { storage: size },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          volumeMode: 'Filesystem',
          local: { path: join(node.root, 'pv', name) },
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [
                {
                  matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node.name] }],
                },
              ],
            },
          },
        },
      });
    }
  }
  return { apiVersion: 'v1', kind: 'List', items };
}

/** Values for these nodes: the image as imported (never pulled), the nodes' common kubelet dir and host paths. */
export function releaseValues(nodes: NodesState, imageRef: string, sidecars: object): object {
  const colon = imageRef.lastIndexOf(':');
  const repository = imageRef.slice(0, colon).replace(/^docker\.io\/library\//, '');
  return {
    image: { repository, tag: imageRef.slice(colon + 1), pullPolicy: 'Never' },
    kubeletDir: KUBELET_DIR,
    logFormat: 'text',
    controller: { replicas: 1, podDisruptionBudget: { enabled: false } },
    sidecars,
    volumeSnapshotClass: { enabled: false },
    node: {
      stateDir: join(nodes.nodeRoot, 'nacre', 'node'),
      osts: { count: 1, path: join(nodes.nodeRoot, 'nacre', 'oss'), size: '2G' },
    },
  };
}

/** The name an image archive files its image under (its index's io.containerd.image.name). */
export async function archiveImageName(archive: string, signal?: AbortSignal): Promise<string> {
  const r = await new ExecRunner().run('tar', ['-xOf', archive, 'index.json'], {
    timeoutMs: 60_000,
    ...(signal ? { signal } : {}),
  });
  if (r.code !== 0) throw new NacreError('NoImage', `${archive} has no index.json: ${r.stderr.trim()}`);
  const index = JSON.parse(r.stdout) as { manifests: { annotations?: Record<string, string> }[] };
  const name = index.manifests[0]?.annotations?.['io.containerd.image.name'];
  if (!name) throw new NacreError('NoImage', `${archive}'s index names no image`);
  return name;
}

export async function writeJson(path: string, value: object): Promise<string> {
  await writeFile(path, JSON.stringify(value));
  return path;
}
