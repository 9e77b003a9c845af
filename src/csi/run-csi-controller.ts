// Wires the CSI Identity and Controller services for `nacre controller --csi-endpoint`: kube stores, file system connections, readiness.
import { hostname } from 'node:os';
import {
  type Backup,
  type DataRepositoryAssociation,
  type FileSystem,
  GROUP,
  VERSION,
} from '../api/index.ts';
import { logger } from '../lib/log.ts';
import { connectLustre } from '../lustre/client/index.ts';
import { parseMountSource } from '../lustre/mount-source.ts';
import type { KubeConfig } from '../platform/kube.ts';
import { CustomResourceClient, loadKubeConfig } from '../platform/kube.ts';
import { customResourceLister } from '../platform/kube-list.ts';
import { type ConnectFileSystem, FileSystemConnections } from './controller/connections.ts';
import { controllerService } from './controller/controller-service.ts';
import type { ControllerStores, ResourceStore } from './controller/stores.ts';
import { identityService } from './identity.ts';
import { type CsiServer, startCsiServer } from './server.ts';

export interface CsiControllerOptions {
  /** unix:///path/csi.sock */
  endpoint: string;
  /** Path of a kubeconfig; default: KUBECONFIG, ~/.kube/config, then in-cluster. */
  kubeconfig?: string;
  /** Namespace the driver creates FileSystem and Backup resources in (default nacre-system). */
  namespace: string;
  /** How long one call waits for a new file system or backup before answering "in progress" (default 8 s). */
  waitMs?: number;
  /** Host name the striped client reports to the servers (default: this host). */
  clientHost?: string;
  signal: AbortSignal;
}

function store<T extends { metadata?: { name?: string } }>(kc: KubeConfig, plural: string): ResourceStore<T> {
  const type = { group: GROUP, version: VERSION, plural };
  const client = new CustomResourceClient<T>(kc, type);
  const list = customResourceLister<T>(kc, type);
  return {
    get: (ns, name, signal) => client.get(ns, name, signal),
    create: (obj, signal) => client.create(obj, signal),
    delete: (ns, name, signal) => client.delete(ns, name, signal),
    mergePatch: (ns, name, patch, signal) => client.mergePatch(ns, name, patch, signal),
    list,
  };
}

/** Connects the striped client to the emulated file system a FileSystem's status names (MGS at dnsName, fsname mountName). */
export function lustreConnector(clientHost: string): ConnectFileSystem {
  return async (target, signal) => {
    const src = parseMountSource(`${target.dnsName}@tcp:/${target.mountName}`);
    const client = await connectLustre({
      mgsAddress: src.mgsAddress,
      fsname: src.fsname,
      host: clientHost,
      clientId: `csi-controller-${clientHost}-${process.pid}`,
      timeoutMs: 15_000,
      signal,
    });
    return client;
  };
}

/** Serves Identity and Controller on `opts.endpoint` until `opts.signal` aborts. */
export async function startCsiController(opts: CsiControllerOptions): Promise<CsiServer> {
  const log = logger('csi');
  const kc = loadKubeConfig(opts.kubeconfig);
  const stores: ControllerStores = {
    fileSystems: store<FileSystem>(kc, 'filesystems'),
    backups: store<Backup>(kc, 'backups'),
    associations: store<DataRepositoryAssociation>(kc, 'datarepositoryassociations'),
  };
  const connections = new FileSystemConnections(lustreConnector(opts.clientHost ?? `csi-${hostname()}`));
  const identity = identityService({
    controller: true,
    checks: [
      {
        name: 'kubernetes API',
        // Lists the kind the driver works with: proves reachability, credentials, RBAC and the CRDs.
        check: async (signal) => {
          await stores.fileSystems.list(opts.namespace, 'csi.nacre.dev/probe=none', signal);
        },
      },
    ],
  });
  const controller = controllerService({
    stores,
    connections,
    namespace: opts.namespace,
    ...(opts.waitMs !== undefined && { waitMs: opts.waitMs }),
    log,
  });
  const server = await startCsiServer({
    endpoint: opts.endpoint,
    identity,
    controller,
    signal: opts.signal,
    log,
  });
  return {
    socketPath: server.socketPath,
    close: async (graceMs?: number) => {
      await server.close(graceMs);
      await connections.close();
    },
  };
}
