// For integration tests: the operator environment (kube-apiserver, emulator servers, operator on "main"), a shared FileSystem and the CSI controller.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  return {
    h,
    namespace,
    shared,
    dir,
    endpoint,
    csi,
    client,
    async stop() {
      client.close();
      stop.abort();
      await csi.close();
      await h.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
