// The OSS process: OssMethods handlers over TCP (and a unix socket for clients on the same host), MGS registration.
import { FsError, NacreError, toFsError } from '../../lib/errors.ts';
import { logger } from '../../lib/log.ts';
import { formatTcpAddress } from '../protocol/address.ts';
import { type Args, asArgs, bool, int } from '../protocol/args.ts';
import { MgsClient } from '../protocol/mgs-client.ts';
import type { OssMethod, StatTarget } from '../protocol/oss-messages.ts';
import { registerLoop } from '../protocol/register-loop.ts';
import { type CallContext, type Handler, Reply, RpcServer } from '../protocol/rpc-server.ts';
import { BandwidthBudget } from './bandwidth.ts';
import { fetchArgs, fetchInto, oneAtATime } from './fetch-range.ts';
import { checkObjectId, checkTarget } from './names.ts';
import { OssStore } from './oss-store.ts';
import { leaseReadBuffer } from './read-buffers.ts';
import { readMany, readManyArgs } from './read-many.ts';
import { checkSnapshotId } from './snapshots.ts';
import { rangeArgs, rangeCrc32, uploadArgs, uploadFrom } from './upload-range.ts';

const log = logger('oss');

/** Largest read of one call; bigger reads must be split by the client. */
export const MAX_READ = 64 * 1024 * 1024;
/** Largest object offset + size accepted (16 TiB, ext4's largest file). */
export const MAX_OBJECT_END = 2 ** 44;
/** Most objects one destroy call may name. */
export const MAX_DESTROY = 10_000;

export interface OssOptions {
  dataDir: string;
  /** Stable server name registered with the MGS, e.g. "oss-node1-0". */
  name: string;
  /** The node this server runs on. */
  host: string;
  listen: { host: string; port: number };
  /** Also serve on this unix socket path, advertised as "unix:<path>". */
  unixSocket?: string;
  /** Address others use when it differs from the listening one (e.g. listening on 0.0.0.0). */
  advertiseAddress?: string;
  mgsAddress?: string;
  /** Budget for all targets of this server; by default what the disk can hold. */
  capacityBytes?: number;
  registerIntervalMs?: number;
  /** Open object files kept in the LRU cache. Default 512. */
  maxOpenFiles?: number;
  /** Bytes per second each target may read and write (benchmarks: the same budget on every OST). */
  bandwidthBytesPerSec?: number;
}

export interface OssServer {
  address: string;
  localAddress?: string;
  /** Capacity, use and free space of every target this server holds (for metrics). */
  statTargets(): Promise<StatTarget[]>;
  /** Stops serving and registering, and closes every object file. */
  close(): Promise<void>;
}

export async function startOss(opts: OssOptions): Promise<OssServer> {
  const store = await OssStore.open(opts.dataDir, opts.maxOpenFiles);
  const servers = [new RpcServer('oss')];
  if (opts.unixSocket) servers.push(new RpcServer('oss'));
  const budget = opts.bandwidthBytesPerSec ? new BandwidthBudget(opts.bandwidthBytesPerSec) : undefined;
  for (const [method, handler] of Object.entries(ossHandlers(store, budget))) {
    for (const s of servers) s.handle(method, handler);
  }
  const stop = new AbortController();
  let registering: Promise<void> | undefined;
  let mgs: MgsClient | undefined;
  try {
    const listened = await servers[0]!.listen(opts.listen);
    const localAddress = opts.unixSocket ? await servers[1]!.listen({ path: opts.unixSocket }) : undefined;
    const address = opts.advertiseAddress ?? advertised(listened, opts.host);
    if (opts.mgsAddress) {
      mgs = new MgsClient({ address: opts.mgsAddress });
      const info = async () => ({
        name: opts.name,
        role: 'oss' as const,
        address,
        ...(localAddress ? { localAddress } : {}),
        host: opts.host,
        capacityBytes: await store.capacityForNewTargets(opts.capacityBytes),
      });
      const loopOpts = opts.registerIntervalMs ? { intervalMs: opts.registerIntervalMs } : {};
      registering = registerLoop(mgs, info, stop.signal, loopOpts);
    }
    log.info('OSS serving', { name: opts.name, address, localAddress, dataDir: opts.dataDir });
    return {
      address,
      ...(localAddress ? { localAddress } : {}),
      statTargets: () => Promise.all(store.targets().map((t) => store.statfs(t.name))),
      close: async () => {
        stop.abort();
        await registering;
        mgs?.close();
        await Promise.all(servers.map((s) => s.close()));
        await store.close();
      },
    };
  } catch (err) {
    stop.abort();
    await registering;
    mgs?.close();
    await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
    await store.close();
    throw err;
  }
}

/** A wildcard listening host is not an address others can dial: use the node's name instead. */
function advertised(listened: string, host: string): string {
  const i = listened.lastIndexOf(':');
  const h = listened.slice(0, i).replace(/^\[|\]$/g, '');
  if (h !== '0.0.0.0' && h !== '::') return listened;
  return formatTcpAddress(host, Number(listened.slice(i + 1)));
}

function offsetArg(args: Args, key: string, extent = 0): number {
  const v = int(args, key);
  if (v + extent > MAX_OBJECT_END) throw new FsError('EFBIG', `${key} + length exceeds ${MAX_OBJECT_END}`);
  return v;
}

/** The OssMethods handlers over one store. Arguments are checked here; errors leave as errno codes. */
export function ossHandlers(store: OssStore, budget?: BandwidthBudget): Record<OssMethod, Handler> {
  const h: Record<OssMethod, (a: Args, payload: Buffer | undefined, ctx?: CallContext) => Promise<unknown>> =
    {
      createTarget: async (a) => {
        await store.createTarget(checkTarget(a['target']), int(a, 'capacityBytes', { min: 1 }));
        return null;
      },
      destroyTarget: async (a) => {
        await store.destroyTarget(checkTarget(a['target']));
        return null;
      },
      write: async (a, payload) => {
        const data = payload ?? Buffer.alloc(0);
        const t = store.get(checkTarget(a['target']));
        await budget?.take(t.name, data.length);
        const written = await t.write(
          checkObjectId(a['object']),
          offsetArg(a, 'offset', data.length),
          data,
          bool(a, 'sync'),
        );
        return { written };
      },
      fetchRange: async (a, _, ctx) => {
        const t = store.get(checkTarget(a['target']));
        const object = checkObjectId(a['object']);
        const f = fetchArgs(a);
        offsetArg(a, 'offset', f.length);
        await budget?.take(t.name, f.length);
        const write = oneAtATime(`${t.name}/${object}`, (at, data) => t.write(object, at, data, false));
        return fetchInto(
          write,
          f.offset,
          f.length,
          f.source,
          f.timeoutMs,
          ctx?.signal ?? new AbortController().signal,
        );
      },
      rangeChecksum: async (a) => {
        const t = store.get(checkTarget(a['target']));
        const object = checkObjectId(a['object']);
        const f = rangeArgs(a);
        offsetArg(a, 'offset', f.length);
        await budget?.take(t.name, f.length);
        return { crc32: await rangeCrc32((at, buf) => t.readInto(object, at, buf), f.offset, f.length) };
      },
      uploadRange: async (a, _, ctx) => {
        const t = store.get(checkTarget(a['target']));
        const object = checkObjectId(a['object']);
        const f = uploadArgs(a);
        offsetArg(a, 'offset', f.length);
        await budget?.take(t.name, f.length);
        const read = (at: number, buf: Buffer) => t.readInto(object, at, buf);
        return uploadFrom(
          read,
          f.offset,
          f.length,
          f.dest,
          f.timeoutMs,
          ctx?.signal ?? new AbortController().signal,
        );
      },
      read: async (a) => {
        const t = store.get(checkTarget(a['target']));
        const length = int(a, 'length');
        if (length > MAX_READ) throw new FsError('EINVAL', `length ${length} exceeds ${MAX_READ}`);
        await budget?.take(t.name, length);
        const [object, offset] = [checkObjectId(a['object']), offsetArg(a, 'offset')];
        if (a['snapshot'] !== undefined) {
          const data = await t.readSnapshot(checkSnapshotId(a['snapshot']), object, offset, length);
          return new Reply({ length: data.length }, data);
        }
        const lease = leaseReadBuffer(length);
        const data = await t.read(object, offset, length, lease.buffer).catch((err: unknown) => {
          lease.release();
          throw err;
        });
        return new Reply({ length: data.length }, data, lease.release);
      },
      readMany: async (a) =>
        readMany(store.get(checkTarget(a['target'])), readManyArgs(a, MAX_READ, MAX_OBJECT_END), budget),
      punch: async (a) => {
        await store.get(checkTarget(a['target'])).punch(checkObjectId(a['object']), offsetArg(a, 'size'));
        return null;
      },
      sync: async (a) => {
        await store.get(checkTarget(a['target'])).sync(checkObjectId(a['object']));
        return null;
      },
      destroy: async (a) => {
        const t = store.get(checkTarget(a['target']));
        const objects = a['objects'];
        if (!Array.isArray(objects) || objects.length > MAX_DESTROY) {
          throw new FsError('EINVAL', `argument "objects" must be an array of at most ${MAX_DESTROY} ids`);
        }
        await t.destroy(objects.map(checkObjectId));
        return null;
      },
      getattr: async (a) => {
        const t = store.get(checkTarget(a['target']));
        const object = checkObjectId(a['object']);
        return a['snapshot'] === undefined
          ? await t.getattr(object)
          : await t.getattrSnapshot(checkSnapshotId(a['snapshot']), object);
      },
      snapshotFreeze: async (a) => {
        const leaseMs = int(a, 'leaseMs', { min: 1 });
        await store
          .get(checkTarget(a['target']))
          .snapshots.freeze(checkSnapshotId(a['id']), Math.min(leaseMs, 60_000));
        return null;
      },
      snapshotActivate: async (a) => {
        await store.get(checkTarget(a['target'])).snapshots.activate(checkSnapshotId(a['id']));
        return null;
      },
      snapshotDrop: async (a) => {
        await store.get(checkTarget(a['target'])).snapshots.drop(checkSnapshotId(a['id']));
        return null;
      },
      statfs: async (a) => store.statfs(checkTarget(a['target'])),
    };
  const out = {} as Record<OssMethod, Handler>;
  for (const [method, fn] of Object.entries(h) as [OssMethod, (typeof h)[OssMethod]][]) {
    out[method] = async (args, payload, ctx) => {
      try {
        return await fn(asArgs(args), payload, ctx);
      } catch (err) {
        if (err instanceof NacreError) throw err;
        const e = toFsError(err);
        if (e.code === 'EIO') log.error('OSS operation failed', { method, error: String(err) });
        throw e;
      }
    };
  }
  return out;
}
