// Wires the CSI Identity and Controller services for `nacre controller --csi-endpoint`: kube client, FileSystem access, readiness.
import { type FileSystem, GROUP, VERSION } from '../api/index.ts';
import { logger } from '../lib/log.ts';
import { CustomResourceClient, loadKubeConfig } from '../platform/kube.ts';
import { identityService } from './identity.ts';
import { type CsiServer, startCsiServer } from './server.ts';

export interface CsiControllerOptions {
  /** unix:///path/csi.sock */
  endpoint: string;
  /** Path of a kubeconfig; default: KUBECONFIG, ~/.kube/config, then in-cluster. */
  kubeconfig?: string;
  /** Namespace the driver creates FileSystem and Backup resources in (default nacre-system). */
  namespace: string;
  signal: AbortSignal;
}

/** Serves Identity and Controller on `opts.endpoint` until `opts.signal` aborts. */
export async function startCsiController(opts: CsiControllerOptions): Promise<CsiServer> {
  const log = logger('csi');
  const kc = loadKubeConfig(opts.kubeconfig);
  const fileSystems = new CustomResourceClient<FileSystem>(kc, {
    group: GROUP,
    version: VERSION,
    plural: 'filesystems',
  });
  const identity = identityService({
    controller: true,
    checks: [
      {
        name: 'kubernetes API',
        // Reads one object of a kind the driver works with: proves reachability, credentials and the CRDs.
        check: async (signal) => {
          await fileSystems.get(opts.namespace, 'nacre-csi-probe', signal);
        },
      },
    ],
  });
  return startCsiServer({ endpoint: opts.endpoint, identity, controller: {}, signal: opts.signal, log });
}
