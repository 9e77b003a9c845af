// Test and benchmark support: the real MGS, MDS and OSS servers, started the shared way on port 0 in a temp dir, with one file system.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '../../src/lib/wait-for.ts';
import { MdsSession } from '../../src/lustre/client/mds-session.ts';
import { ensureFileSystem } from '../../src/lustre/cluster/create-file-system.ts';
import {
  type InProcessServer,
  type InProcessTuning,
  inProcessLauncher,
  processLauncher,
  type RunningServer,
  type ServerSpec,
  startFileSystemServers,
  startServerInProcess,
} from '../../src/lustre/cluster/servers.ts';
import { O_WRONLY } from '../../src/lustre/mds/handles.ts';
import { MgsClient } from '../../src/lustre/protocol/mgs-client.ts';
import type { FileSystemConfig } from '../../src/lustre/protocol/mgs-messages.ts';
import { OssClient } from '../../src/lustre/protocol/oss-client.ts';
import { ROOT_CREDENTIALS, ROOT_INO } from '../../src/lustre/types.ts';

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
  /** Run each OSS in its own `nacre server` process (for measurements); default in this process. */
  ossInChildren?: boolean;
  /** The MDS's grace period before it evicts a client that went away (ms). */
  graceMs?: number;
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
 * Starts an MGS, an MDS and `ossCount` OSS (one host each; OSS 0 on `localHost`, and then every OSS
 * with a unix socket) with the shared startFileSystemServers, creates a file system of one OST per
 * OSS and waits until the MDS serves it. Everything listens on 127.0.0.1 port 0 inside `dir`;
 * `close` stops it all and removes `dir`.
 */
export async function startTestCluster(opts: TestClusterOptions = {}): Promise<TestCluster> {
  const fsname = opts.fsname ?? 'tfs';
  const ossCount = opts.ossCount ?? 4;
  const ostCapacityBytes = opts.ostCapacityBytes ?? 1024 * MiB;
  const dir = await mkdtemp(path.join(opts.baseDir ?? tmpdir(), 'nacre-cluster-'));
  const tuning: InProcessTuning = {
    registerIntervalMs: 200,
    pollMs: 100,
    ...(opts.graceMs !== undefined && { graceMs: opts.graceMs }),
  };
  /** Running servers by name, and what each was started with. */
  const running = new Map<string, { close(): Promise<void> }>();
  const specs = new Map<string, ServerSpec>();
  const ports = new Map<string, number>();
  let mds: InProcessServer | undefined;
  const inProcess = inProcessLauncher({
    tuning,
    started: (s) => {
      running.set(s.name, s);
      if (s.role === 'mds') mds = s;
    },
  });
  const children = processLauncher({
    nacre: path.join(import.meta.dirname, '../../cmd/nacre.ts'),
    logDir: dir,
    started: (c) => running.set(c.name, { close: () => c.stop() }),
  });
  const launch = (spec: ServerSpec): Promise<RunningServer> => {
    specs.set(spec.name, spec);
    return spec.role === 'oss' && opts.ossInChildren ? children(spec) : inProcess(spec);
  };
  let mgsClient: MgsClient | undefined;
  const ossClients: OssClient[] = [];
  const stop = async (name: string) => {
    const s = running.get(name);
    running.delete(name);
    await s?.close();
  };
  const close = async () => {
    for (const c of ossClients) c.close();
    mgsClient?.close();
    for (const name of [...running.keys()].sort((a, b) => stopOrder(a) - stopOrder(b))) await stop(name);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const { mgs } = await startFileSystemServers(
      {
        dataDir: dir,
        ossCount,
        unixSockets: opts.localHost !== undefined,
        host: (name) => (name === 'oss0' && opts.localHost ? opts.localHost : `host-${name}`),
        ossCapacityBytes: 2 * ostCapacityBytes,
      },
      launch,
    );
    const mgsAddress = mgs.address;
    const client = new MgsClient({ address: mgsAddress, timeoutMs: 30_000 });
    mgsClient = client;
    await ensureFileSystem(
      mgsAddress,
      {
        fsname,
        ostCount: ossCount,
        ostCapacityBytes,
        ...(opts.replicas !== undefined && { replicas: opts.replicas }),
      },
      { ossServers: ossCount, mdsServers: 1 },
    );
    const mdsServing = () =>
      waitFor(`the MDS to serve ${fsname}`, () => mds?.staleCount?.(fsname) !== undefined, {
        intervalMs: 20,
      });
    await mdsServing();
    /** Starts a stopped server again in this process, on its data directory and `port`. */
    const restart = async (name: string, port: number): Promise<InProcessServer> => {
      const spec = specs.get(name);
      if (!spec || running.has(name)) throw new Error(`${name} is running or unknown`);
      const s = await startServerInProcess({ ...spec, listen: { ...spec.listen, port } }, tuning);
      running.set(name, s);
      return s;
    };
    const config = () => client.getConfig(fsname);
    const serverOf = async (ost: number) => {
      const t = (await config()).osts.find((o) => o.index === ost);
      if (!t) throw new Error(`no OST ${ost}`);
      return t;
    };
    return {
      dir,
      fsname,
      mgsAddress,
      config,
      ossFor: async (ost) => {
        const t = await serverOf(ost);
        const c = new OssClient({ address: t.address });
        ossClients.push(c);
        return { client: c, target: t.target };
      },
      stopOssOf: async (ost) => {
        const t = await serverOf(ost);
        ports.set(t.server, portOf(t.address));
        await stop(t.server);
      },
      restartOssOf: async (ost) => {
        const t = await serverOf(ost);
        await restart(t.server, ports.get(t.server) ?? portOf(t.address));
      },
      staleCount: () => {
        const n = mds && running.has(mds.name) ? mds.staleCount?.(fsname) : undefined;
        if (n === undefined) throw new Error('the MDS is stopped');
        return n;
      },
      stopMds: async () => {
        if (!mds) return;
        ports.set(mds.name, portOf(mds.address));
        await stop(mds.name);
      },
      startMds: async (o = {}) => {
        const name = mds?.name ?? 'mds0';
        mds = await restart(name, o.newPort ? 0 : (ports.get(name) ?? 0));
        await mdsServing();
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

/** Servers stop MDS first, then the OSS, the MGS last. */
function stopOrder(name: string): number {
  return name.startsWith('mds') ? 0 : name === 'mgs' ? 2 : 1;
}

/** A bare MDS session on the cluster's MDT as client `clientId` on host 'h' (no OST I/O, no caches); the caller closes it. */
export async function mdsSession(cluster: TestCluster, clientId: string): Promise<MdsSession> {
  const { mdt } = await cluster.config();
  return new MdsSession({ address: mdt.address, fsname: cluster.fsname, clientId, host: 'h' });
}

/** A file written below the client library: see rawWriter. */
export interface RawWriter {
  /** The writer's MDS session; closing it is the writer's mount going away (closed by the caller). */
  session: MdsSession;
  ino: number;
  /** The handle the create opened for writing (O_WRONLY). */
  handle: number;
  /** The OSS of the file's first OST (closed with the cluster), and the OST's target name. */
  oss: OssClient;
  target: string;
}

/**
 * A writer the MDS knows only by its open handle: an MDS session `clientId` creates `name` in the
 * root directory open for writing, and `bytes` go straight to offset 0 of the file's first object on
 * its OST. No size reaches the MDS: the test decides how (a release, an eviction) or whether.
 */
export async function rawWriter(
  cluster: TestCluster,
  clientId: string,
  name: string,
  bytes: Buffer,
): Promise<RawWriter> {
  const session = await mdsSession(cluster, clientId);
  const created = await session.mutate('create', {
    cred: ROOT_CREDENTIALS,
    parent: ROOT_INO,
    name,
    mode: 0o644,
    exclusive: true,
    open: true,
    flags: O_WRONLY,
  });
  const ino = created.attr.ino;
  const { client: oss, target } = await cluster.ossFor(created.layout.osts[0]!);
  await oss.write({ target, object: `${ino}.0`, offset: 0 }, bytes);
  return { session, ino, handle: created.handle!, oss, target };
}
