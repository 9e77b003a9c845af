// The kubelet's part on the harness (which has no kubelet): NodeStageVolume and NodePublishVolume of a bound PV on one node plugin, and their undoing, at the paths the kubelet uses.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { csiClient, mountCapability } from '../../test/csi/csi-client.ts';

export interface PersistentVolume {
  metadata: { name: string };
  spec: { csi: { driver: string; volumeHandle: string; volumeAttributes?: Record<string, string> } };
}

export interface Published {
  /** Where the pod would see the volume. */
  targetPath: string;
  /** Unpublishes and unstages; idempotent as the CSI calls are. */
  release(): Promise<void>;
}

/**
 * Stages `pv` on the node plugin at `endpoint` and publishes it for one pod, with the staging and
 * target paths the kubelet would use under `kubeletDir`.
 */
export async function stageAndPublish(
  endpoint: string,
  kubeletDir: string,
  pv: PersistentVolume,
  podUid: string,
): Promise<Published> {
  const csi = pv.spec.csi;
  const hash = createHash('sha256').update(csi.volumeHandle).digest('hex');
  const stagingTargetPath = join(kubeletDir, 'plugins/kubernetes.io/csi', csi.driver, hash, 'globalmount');
  const targetPath = join(kubeletDir, 'pods', podUid, 'volumes/kubernetes.io~csi', pv.metadata.name, 'mount');
  const common = {
    volumeId: csi.volumeHandle,
    volumeCapability: mountCapability(),
    volumeContext: csi.volumeAttributes ?? {},
  };
  const client = csiClient(endpoint);
  try {
    await client.node('NodeStageVolume', { ...common, stagingTargetPath }, 90_000);
    await client.node(
      'NodePublishVolume',
      { ...common, stagingTargetPath, targetPath, readonly: false },
      60_000,
    );
  } catch (err) {
    client.close();
    throw err;
  }
  return {
    targetPath,
    release: async () => {
      try {
        await client.node('NodeUnpublishVolume', { volumeId: csi.volumeHandle, targetPath }, 60_000);
        await client.node('NodeUnstageVolume', { volumeId: csi.volumeHandle, stagingTargetPath }, 60_000);
      } finally {
        client.close();
      }
    },
  };
}
