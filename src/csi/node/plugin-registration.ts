// The kubelet's plugin registration (pluginregistration v1) served by the node plugin itself, in place of node-driver-registrar.
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { NacreError, ValidationError } from '../../lib/errors.ts';
import { type Logger, logger } from '../../lib/log.ts';
import { removeStaleSocket } from '../server.ts';

/** The file scripts/fetch-kubelet-proto.sh takes from the k8s.io/kubelet Go module. */
export const PLUGIN_REGISTRATION_PROTO_PATH = fileURLToPath(
  new URL('../../../proto/pluginregistration.proto', import.meta.url),
);

/** What the plugin tells the kubelet (GetInfo). Field names as proto-loader gives them (camelCase). */
export interface PluginInfo {
  /** "CSIPlugin" for a CSI driver. */
  type: string;
  name: string;
  /** The CSI socket as the kubelet sees it (a path on the host). */
  endpoint: string;
  supportedVersions: string[];
}

/** What the kubelet tells the plugin after trying to register it (NotifyRegistrationStatus). */
export interface RegistrationStatus {
  pluginRegistered: boolean;
  /** Why registration failed; empty when it succeeded. */
  error: string;
}

/** The CSI versions the driver speaks, as node-driver-registrar advertises them. */
export const CSI_SUPPORTED_VERSIONS = ['1.0.0'];

/** The pluginregistration package's Registration service (loaded once), with a client constructor for tests. */
export function registrationService(): grpc.ServiceClientConstructor {
  if (!existsSync(PLUGIN_REGISTRATION_PROTO_PATH)) {
    throw new NacreError(
      'RegistrationProtoMissing',
      `${PLUGIN_REGISTRATION_PROTO_PATH} is missing: run \`npm run proto\` (it fetches the kubelet's ` +
        'pluginregistration api.proto from the k8s.io/kubelet Go module)',
    );
  }
  const def = loadSync(PLUGIN_REGISTRATION_PROTO_PATH, { defaults: true });
  const pkg = grpc.loadPackageDefinition(def)['pluginregistration'] as grpc.GrpcObject | undefined;
  const ctor = pkg?.['Registration'];
  if (typeof ctor !== 'function') {
    throw new NacreError(
      'RegistrationProtoMissing',
      `${PLUGIN_REGISTRATION_PROTO_PATH} has no pluginregistration.Registration service: run \`npm run proto\``,
    );
  }
  return ctor as grpc.ServiceClientConstructor;
}

/** The registration socket node-driver-registrar would create: `<registrationDir>/<driver>-reg.sock`. */
export function registrationSocketPath(registrationDir: string, driverName: string): string {
  return join(registrationDir, `${driverName}-reg.sock`);
}

export interface PluginRegistrationOptions {
  /** The kubelet's plugins_registry directory (as this process sees it, e.g. mounted at /registration). */
  registrationDir: string;
  driverName: string;
  /** The CSI socket path as the kubelet sees it: absolute, on the host. */
  kubeletEndpoint: string;
  supportedVersions?: string[];
  /** Called with every status the kubelet reports. */
  onStatus?: (status: RegistrationStatus) => void;
  /** Aborting it stops serving and removes the socket. */
  signal: AbortSignal;
  log?: Logger;
}

export interface PluginRegistration {
  socketPath: string;
  /** The kubelet's last report; undefined until it has called. */
  status(): RegistrationStatus | undefined;
  /** Stops serving and removes the socket, so the kubelet deregisters the driver. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves the Registration service on `<registrationDir>/<driver>-reg.sock`; the kubelet's plugin
 * watcher notices the socket, calls GetInfo, registers the driver (CSINode lists it) and reports
 * the outcome through NotifyRegistrationStatus, which is logged. A stale socket there is replaced.
 */
export async function startPluginRegistration(opts: PluginRegistrationOptions): Promise<PluginRegistration> {
  if (!opts.kubeletEndpoint.startsWith('/')) {
    throw new ValidationError(
      `kubelet registration path "${opts.kubeletEndpoint}" must be an absolute path on the host (the CSI socket as the kubelet sees it)`,
    );
  }
  const log = opts.log ?? logger('plugin-registration');
  const socketPath = registrationSocketPath(opts.registrationDir, opts.driverName);
  const info: PluginInfo = {
    type: 'CSIPlugin',
    name: opts.driverName,
    endpoint: opts.kubeletEndpoint,
    supportedVersions: opts.supportedVersions ?? CSI_SUPPORTED_VERSIONS,
  };
  let last: RegistrationStatus | undefined;
  const server = new grpc.Server();
  server.addService(registrationService().service, {
    GetInfo: (_call: grpc.ServerUnaryCall<unknown, PluginInfo>, cb: grpc.sendUnaryData<PluginInfo>) => {
      log.debug('kubelet asked for plugin info', { ...info });
      cb(null, info);
    },
    NotifyRegistrationStatus: (
      call: grpc.ServerUnaryCall<RegistrationStatus, object>,
      cb: grpc.sendUnaryData<object>,
    ) => {
      last = { pluginRegistered: call.request.pluginRegistered, error: call.request.error };
      if (last.pluginRegistered) log.info('kubelet registered the driver', { driver: info.name, socketPath });
      else log.error('kubelet refused to register the driver', { driver: info.name, error: last.error });
      opts.onStatus?.(last);
      cb(null, {});
    },
  });
  await mkdir(opts.registrationDir, { recursive: true });
  await removeStaleSocket(socketPath, 'registration socket');
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err
        ? reject(
            new NacreError('RegistrationListen', `cannot listen on ${socketPath}: ${err.message}`, {
              cause: err,
            }),
          )
        : resolve(),
    );
  });
  log.info('serving kubelet plugin registration', { socketPath, endpoint: info.endpoint });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      // Remove the socket first: the kubelet deregisters the driver when the file goes away.
      await rm(socketPath, { force: true });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      log.info('stopped serving kubelet plugin registration', { socketPath });
    })();
    return closing;
  };
  if (opts.signal.aborted) await close();
  else opts.signal.addEventListener('abort', () => void close(), { once: true });
  return { socketPath, status: () => last, close };
}
