// Test and benchmark support: the real MGS, MDS and OSS servers in this process, on port 0 and temp dirs, with one file system.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startChild } from '../../src/lib/supervisor.ts';
import { waitFor } from '../../src/lib/wait-for.ts';
import { glimpseVia } from '../../src/lustre/mds/glimpse.ts';
import type { OstInfo } from '../../src/lustre/mds/layout.ts';
import { type MdsServer, startMds } from '../../src/lustre/mds/mdt-server.ts';
import { OssPool, resyncVia } from '../../src/lustre/mds/ost-targets.ts';
import { type MgsServer, startMgs } from '../../src/lustre/mgs/mgs-server.ts';
import { type OssOptions, startOss } from '../../src/lustre/oss/oss-server.ts';
import { MgsClient } from '../../src/lustre/protocol/mgs-client.ts';
import type { FileSystemConfig } from '../../src/lustre/protocol/mgs-messages.ts';
import { OssClient } from '../../src/lustre/protocol/oss-client.ts';

const MiB = 1 << 20;

export interface TestClusterOptions {
  fsname?: string;
  ossCount?: number;
  /** Host of OSS 0; a client on this host reaches it over its unix socket. */
  localHost?: string;
  ostCapacityBytes?: number;
  replicas?: number;
  /** Where the temp directory goes (default the OS temp dir). */
  baseDir?: string;
  /** Run each OSS in its own process (for measurements); default in this process. */
  ossInChildren?: boolean;
  /** The MDS's grace period before it evicts a client that went away (ms). */
  graceMs?: number;
}

interface Stoppable {
  close(): Promise<void>;
}

export interface TestCluster {
  dir: string;
  fsname: string;
  mgsAddress: string;
  config(): Promise<FileSystemConfig>;
  /** An OSS client for the server of an OST index (closed by the caller). */
  ossFor(ost: number): Promise<{ client: OssClient; target: string }>;
  /** Stops the OSS serving OST `ost`. */
  stopOssOf(ost: number): Promise<void>;
  /** Restarts a stopped OSS of OST `ost` on its data directory and port (in this process). */
  restartOssOf(ost: number): Promise<void>;
  /** Mirror copies the MDS has recorded stale and not resynced yet. */
  staleCount(): number;
  /** Stops the MDS; `startMds` brings it back with the same database, on the same port unless `newPort`. */
  stopMds(): Promise<void>;
  startMds(opts?: { newPort?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts an MGS, `ossCount` OSS (one host each; OSS 0 on `localHost` with a unix socket), creates a
 * file system of one OST per OSS, and starts its MDS (registered with the MGS under its address).
 * Everything listens on 127.0.0.1 port 0 inside `dir`; `close` stops it all and removes `dir`.
 */
export async function startTestCluster(opts: TestClusterOptions = {}): Promise<TestCluster> {
  const fsname = opts.fsname ?? 'tfs';
  const ossCount = opts.ossCount ?? 4;
  const dir = await mkdtemp(path.join(opts.baseDir ?? tmpdir(), 'nacre-cluster-'));
  const mgs: MgsServer = await startMgs({
    dataDir: path.join(dir, 'mgs'),
    listen: { host: '127.0.0.1', port: 0 },
  });
  const mgsClient = new MgsClient({ address: mgs.address, timeoutMs: 30_000 });
  const oss = new Map<string, Stoppable>();
  let mds: MdsServer | undefined;
  let mdsPort = 0;
  const ossClients: OssClient[] = [];
  const ossOptions = new Map<string, OssOptions>();
  const resyncPool = new OssPool();
  const close = async () => {
    await mds?.close();
    resyncPool.close();
    for (const s of oss.values()) await s.close();
    for (const c of ossClients) c.close();
    mgsClient.close();
    await mgs.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < ossCount; i++) {
      const name = `oss-${i}`;
      const ossOpts: OssOptions = {
        dataDir: path.join(dir, name),
        name,
        host: i === 0 && opts.localHost ? opts.localHost : `host-${i}`,
        listen: { host: '127.0.0.1', port: 0 },
        ...(i === 0 && { unixSocket: path.join(dir, 'oss-0.sock') }),
        mgsAddress: mgs.address,
        capacityBytes: 2 * (opts.ostCapacityBytes ?? 1024 * MiB),
        registerIntervalMs: 200,
      };
      const started = opts.ossInChildren ? await ossChild(ossOpts, dir) : await startOss(ossOpts);
      oss.set(name, started);
      const port = 'address' in started ? Number(String(started.address).split(':').at(-1)) : 0;
      ossOptions.set(name, { ...ossOpts, listen: { host: '127.0.0.1', port } });
    }
    await waitFor(
      `${ossCount} OSS registered at the MGS`,
      async () => (await mgsClient.listServers()).filter((s) => s.role === 'oss').length === ossCount,
      { intervalMs: 20 },
    );
    // The MDS does not register itself yet: register a placeholder, create, then move it to its real address.
    const mdsInfo = { name: 'mds-0', role: 'mds' as const, host: 'host-m', capacityBytes: 1024 * MiB };
    await mgsClient.registerServer({ ...mdsInfo, address: '127.0.0.1:9' });
    await mgsClient.createFileSystem({
      fsname,
      ostCount: ossCount,
      ostCapacityBytes: opts.ostCapacityBytes ?? 1024 * MiB,
      ...(opts.replicas !== undefined && { replicas: opts.replicas }),
    });
    const osts = async (): Promise<OstInfo[]> =>
      (await mgsClient.getConfig(fsname)).osts.map((t) => ({
        index: t.index,
        target: t.target,
        host: t.host,
        server: t.server,
      }));
    const startMdsNow = async (o: { newPort?: boolean } = {}) => {
      if (o.newPort) mdsPort = 0;
      mds = await startMds({
        dataDir: path.join(dir, 'mds'),
        listen: { host: '127.0.0.1', port: mdsPort },
        fsname,
        osts,
        ...(opts.replicas !== undefined && { replicas: opts.replicas }),
        resyncObject: resyncVia(mgsClient, fsname, resyncPool),
        glimpse: glimpseVia(mgsClient, fsname, resyncPool),
        ...(opts.graceMs !== undefined && { graceMs: opts.graceMs }),
        destroyObjects: async ({ target, objects }, signal) => {
          const t = (await mgsClient.getConfig(fsname, signal)).osts.find((o) => o.target === target);
          if (!t) return;
          const c = new OssClient({ address: t.address });
          try {
            await c.destroy({ target, objects }, signal);
          } finally {
            c.close();
          }
        },
      });
      mdsPort = Number(mds.address.slice(mds.address.lastIndexOf(':') + 1));
      await mgsClient.registerServer({ ...mdsInfo, address: mds.address });
    };
    await startMdsNow();
    const config = () => mgsClient.getConfig(fsname);
    const serverOf = async (ost: number) => {
      const t = (await config()).osts.find((o) => o.index === ost);
      if (!t) throw new Error(`no OST ${ost}`);
      return t;
    };
    return {
      dir,
      fsname,
      mgsAddress: mgs.address,
      config,
      ossFor: async (ost) => {
        const t = await serverOf(ost);
        const client = new OssClient({ address: t.address });
        ossClients.push(client);
        return { client, target: t.target };
      },
      stopOssOf: async (ost) => {
        const t = await serverOf(ost);
        await oss.get(t.server)?.close();
        oss.delete(t.server);
      },
      restartOssOf: async (ost) => {
        const t = await serverOf(ost);
        const o = ossOptions.get(t.server);
        if (!o || oss.has(t.server)) throw new Error(`OSS ${t.server} is running or unknown`);
        oss.set(t.server, await startOss(o));
      },
      staleCount: () => {
        if (!mds) throw new Error('the MDS is stopped');
        return mds.staleCount();
      },
      stopMds: async () => {
        await mds?.close();
        mds = undefined;
      },
      startMds: startMdsNow,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** An OSS in its own Node process (test/lustre/oss-process.ts). */
async function ossChild(opts: OssOptions, dir: string): Promise<Stoppable> {
  const child = await startChild({
    name: opts.name,
    command: process.execPath,
    args: [path.join(import.meta.dirname, './oss-process.ts'), JSON.stringify(opts)],
    logFile: path.join(dir, `${opts.name}.log`),
  });
  return { close: () => child.stop() };
}
