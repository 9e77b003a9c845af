// For integration tests: the operator environment (kube-apiserver, emulator servers, operator on "main"), a shared FileSystem and the CSI controller.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABEL_SNAPSHOT, LABEL_VOLUME } from '../../src/csi/controller/stores.ts';
import { startCsiController } from '../../src/csi/run-csi-controller.ts';
import type { CsiServer } from '../../src/csi/server.ts';
import { type ControllerHarness, ready, startControllerHarness } from '../controller/controller-harness.ts';
import { type CsiClient, csiClient } from './csi-client.ts';

export interface CsiEnv {
  h: ControllerHarness;
  /** The namespace the operator watches and the CSI controller creates resources in. */
  namespace: string;
  /** A FileSystem (SCRATCH_2, 1200 GiB) for sub-directory volumes. */
  shared: string;
  dir: string;
  endpoint: string;
  csi: CsiServer;
  client: CsiClient;
  /** "kind/name" of what the driver made in `namespace` and has not deleted: FileSystems, associations and Backups of volumes, Backups of snapshots. */
  leftovers(): Promise<string[]>;
  stop(): Promise<void>;
}

/** `waitMs`: how long a CreateVolume or CreateSnapshot call waits for the backend (the driver's default is 8 s). */
export async function startCsiEnv(opts: { waitMs?: number } = {}): Promise<CsiEnv> {
  const h = await startControllerHarness([]);
  const namespace = 'main';
  const shared = 'shared';
  await h.apply(
    namespace,
    'FileSystem',
    shared,
    '  storageCapacity: 1200\n  lustreConfiguration:\n    deploymentType: SCRATCH_2\n',
  );
  await h.waitFor(namespace, shared, 'Ready', ready);
  const dir = await mkdtemp(join(tmpdir(), 'nacre-csi-'));
  const endpoint = `unix://${join(dir, 'controller.sock')}`;
  const stop = new AbortController();
  const csi = await startCsiController({
    endpoint,
    kubeconfig: h.env.cluster.kubeconfigPath,
    namespace,
    clientHost: 'csi-test-controller',
    ...(opts.waitMs !== undefined && { waitMs: opts.waitMs }),
    signal: stop.signal,
  });
  const client = csiClient(endpoint);
  const names = async (kinds: string, label: string) => {
    const r = await h.env.kubectl(['get', kinds, '-n', namespace, '-l', `${label}=true`, '-o', 'name']);
    if (r.code !== 0) throw new Error(`kubectl get ${kinds}: ${r.stderr}`);
    return r.stdout.split('\n').filter((l) => l.trim() !== '');
  };
  return {
    h,
    namespace,
    shared,
    dir,
    endpoint,
    csi,
    client,
    async leftovers() {
      return [
        ...(await names('filesystems,datarepositoryassociations,backups', LABEL_VOLUME)),
        ...(await names('backups', LABEL_SNAPSHOT)),
      ];
    },
    async stop() {
      client.close();
      stop.abort();
      await csi.close();
      await h.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
