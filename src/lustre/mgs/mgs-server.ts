// The MGS process: MgsMethods over TCP, backed by the persistent registry in its data directory.
import { NacreError, toFsError } from '../../lib/errors.ts';
import { logger } from '../../lib/log.ts';
import { asArgs } from '../protocol/args.ts';
import type { MgsMethod } from '../protocol/mgs-messages.ts';
import { checkRootSquash } from '../protocol/root-squash.ts';
import { type Handler, RpcServer } from '../protocol/rpc-server.ts';
import { MgsService, type MgsServiceOptions } from './mgs-service.ts';
import { checkFsname, checkServerInfo, normalizeCreate, ostCapacityArg, ostCountArg } from './validate.ts';

const log = logger('mgs');

export interface MgsOptions extends MgsServiceOptions {
  dataDir: string;
  listen: { host: string; port: number };
}

export interface MgsServer {
  address: string;
  /** Stops serving after the running file-system operation. */
  close(): Promise<void>;
}

export async function startMgs(opts: MgsOptions): Promise<MgsServer> {
  const service = await MgsService.open(opts.dataDir, opts);
  const server = new RpcServer('mgs');
  for (const [method, handler] of Object.entries(mgsHandlers(service))) server.handle(method, handler);
  let address: string;
  try {
    address = await server.listen(opts.listen);
  } catch (err) {
    await service.close();
    throw err;
  }
  log.info('MGS serving', { address, dataDir: opts.dataDir });
  return {
    address,
    close: async () => {
      await server.close();
      await service.close();
    },
  };
}

/** The MgsMethods handlers over one service. Arguments are checked here; errors leave with their codes. */
export function mgsHandlers(service: MgsService): Record<MgsMethod, Handler> {
  const h: Record<MgsMethod, (args: unknown) => Promise<unknown>> = {
    registerServer: async (a) => {
      await service.registerServer(checkServerInfo(a));
      return null;
    },
    listServers: async () => service.listServers(),
    createFileSystem: async (a) => {
      const { fsname, request } = normalizeCreate(a);
      return await service.createFileSystem(fsname, request);
    },
    addOsts: async (raw) => {
      const a = asArgs(raw);
      return await service.addOsts(checkFsname(a['fsname']), ostCountArg(a, 'count'), ostCapacityArg(a));
    },
    destroyFileSystem: async (a) => {
      await service.destroyFileSystem(checkFsname(asArgs(a)['fsname']));
      return null;
    },
    getConfig: async (a) => service.getConfig(checkFsname(asArgs(a)['fsname'])),
    listFileSystems: async () => service.listFileSystems(),
    setRootSquash: async (raw) => {
      const a = asArgs(raw);
      return await service.setRootSquash(checkFsname(a['fsname']), checkRootSquash(a['rootSquash']));
    },
  };
  const out = {} as Record<MgsMethod, Handler>;
  for (const [method, fn] of Object.entries(h) as [MgsMethod, (args: unknown) => Promise<unknown>][]) {
    out[method] = async (args) => {
      try {
        return await fn(args);
      } catch (err) {
        if (err instanceof NacreError) throw err;
        log.error('MGS operation failed', { method, error: String(err) });
        throw toFsError(err);
      }
    };
  }
  return out;
}
