// The CSI gRPC server on a unix socket: identity, controller and node services, each call logged with its method, code and duration.
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { NacreError, ValidationError } from '../lib/errors.ts';
import { type Logger, logger } from '../lib/log.ts';
import { statusName, toGrpcStatus } from './grpc-status.ts';
import {
  type CallContext,
  type ControllerService,
  csiPackage,
  type IdentityService,
  type NodeService,
} from './proto.ts';

export interface CsiServerOptions {
  /** `unix:///abs/path.sock` (or `unix:/abs/path.sock`); a stale socket file there is removed first. */
  endpoint: string;
  identity: IdentityService;
  controller?: ControllerService;
  node?: NodeService;
  /** Aborting it stops the server (in-flight calls see their signal abort). */
  signal: AbortSignal;
  log?: Logger;
}

export interface CsiServer {
  /** The socket path. */
  socketPath: string;
  /** Stops accepting calls, waits up to `graceMs` for running ones, then cancels them; removes the socket. */
  close(graceMs?: number): Promise<void>;
}

/** The socket path of a `unix://` endpoint; ValidationError for anything else. */
export function socketPathOf(endpoint: string): string {
  const m = /^unix:(?:\/\/(\/[^/].*)|(\/[^/].*))$/.exec(endpoint);
  const path = m?.[1] ?? m?.[2];
  if (!path) {
    throw new ValidationError(`bad CSI endpoint "${endpoint}": want unix:///absolute/path.sock`);
  }
  return path;
}

/** Calls that arrive many times a minute and change nothing: logged at debug. */
const QUIET = new Set([
  'Probe',
  'GetPluginInfo',
  'GetPluginCapabilities',
  'ControllerGetCapabilities',
  'NodeGetCapabilities',
]);

type AsyncMethod = (req: unknown, ctx: CallContext) => Promise<unknown>;

function wrap(method: string, impl: AsyncMethod | undefined, stopping: AbortSignal, log: Logger) {
  return (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>): void => {
    const started = performance.now();
    const done = (code: grpc.status, err?: unknown): void => {
      const ms = Math.round((performance.now() - started) * 10) / 10;
      const fields = { method, code: statusName(code), ms };
      if (code === grpc.status.OK) {
        if (QUIET.has(method)) log.debug('call', fields);
        else log.info('call', fields);
      } else {
        const level = code === grpc.status.INTERNAL || code === grpc.status.UNKNOWN ? 'error' : 'info';
        log.log(level, 'call', { ...fields, error: err instanceof Error ? err.message : String(err) });
      }
    };
    if (!impl) {
      const details = `${method} is not implemented by this driver`;
      done(grpc.status.UNIMPLEMENTED, details);
      callback({ code: grpc.status.UNIMPLEMENTED, details });
      return;
    }
    const ac = new AbortController();
    const onCancel = () => ac.abort(new NacreError('Cancelled', `${method} was cancelled by the caller`));
    call.once('cancelled', onCancel);
    const deadline = call.getDeadline();
    const ms = deadline instanceof Date ? deadline.getTime() - Date.now() : Number(deadline) - Date.now();
    const signals = [ac.signal, stopping];
    if (Number.isFinite(ms)) signals.push(AbortSignal.timeout(Math.max(0, ms)));
    const ctx: CallContext = { signal: AbortSignal.any(signals) };
    impl(call.request, ctx).then(
      (res) => {
        call.off('cancelled', onCancel);
        done(grpc.status.OK);
        callback(null, res);
      },
      (err: unknown) => {
        call.off('cancelled', onCancel);
        const s = toGrpcStatus(err);
        done(s.code, err);
        callback({ code: s.code, details: s.details });
      },
    );
  };
}

function implementation(
  definition: grpc.ServiceDefinition,
  service: object,
  stopping: AbortSignal,
  log: Logger,
): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = {};
  const methods = service as Record<string, AsyncMethod | undefined>;
  for (const name of Object.keys(definition)) {
    const impl = methods[name];
    out[name] = wrap(name, impl?.bind(service), stopping, log) as grpc.UntypedHandleCall;
  }
  return out;
}

/** Removes a socket file left by an earlier run; ValidationError when `path` is something else. */
export async function removeStaleSocket(path: string, what = 'CSI endpoint'): Promise<void> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!st) return;
  if (!st.isSocket()) {
    throw new ValidationError(`${what} ${path} exists and is not a socket: remove it or choose another path`);
  }
  await rm(path, { force: true });
}

/** Serves the given CSI services on `opts.endpoint` until `opts.signal` aborts or `close()` is called. */
export async function startCsiServer(opts: CsiServerOptions): Promise<CsiServer> {
  const log = opts.log ?? logger('csi');
  const socketPath = socketPathOf(opts.endpoint);
  const pkg = csiPackage();
  const stopping = new AbortController();
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
  server.addService(
    pkg.Identity.service,
    implementation(pkg.Identity.service, opts.identity, stopping.signal, log),
  );
  if (opts.controller) {
    server.addService(
      pkg.Controller.service,
      implementation(pkg.Controller.service, opts.controller, stopping.signal, log),
    );
  }
  if (opts.node) {
    server.addService(pkg.Node.service, implementation(pkg.Node.service, opts.node, stopping.signal, log));
  }
  await mkdir(dirname(socketPath), { recursive: true });
  await removeStaleSocket(socketPath);
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err
        ? reject(
            new NacreError('CsiListen', `cannot listen on ${opts.endpoint}: ${err.message}`, { cause: err }),
          )
        : resolve(),
    );
  });
  log.info('serving CSI', {
    endpoint: opts.endpoint,
    services: ['Identity', ...(opts.controller ? ['Controller'] : []), ...(opts.node ? ['Node'] : [])],
  });
  let closing: Promise<void> | undefined;
  const close = (graceMs = 5_000): Promise<void> => {
    closing ??= (async () => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          stopping.abort(new NacreError('ServerStopping', 'the CSI server is stopping'));
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      stopping.abort(new NacreError('ServerStopping', 'the CSI server is stopping'));
      await rm(socketPath, { force: true });
      log.info('stopped serving CSI', { endpoint: opts.endpoint });
    })();
    return closing;
  };
  if (opts.signal.aborted) await close(0);
  else opts.signal.addEventListener('abort', () => void close(), { once: true });
  return { socketPath, close };
}
