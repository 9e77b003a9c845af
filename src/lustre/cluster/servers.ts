// The one way to start a file system's servers (MGS, then MDS and OSS): `nacre up`, `nacre server`, test fixtures and e2e.
import { join } from 'node:path';
import { ValidationError } from '../../lib/errors.ts';
import { type Child, startChild } from '../../lib/supervisor.ts';
import type { MdsService } from '../mds/mds-server.ts';
import type { OssServer } from '../oss/oss-server.ts';

export type ServerRole = 'mgs' | 'mds' | 'oss';

/** One server to start: what it is, where it keeps its data, where it listens. */
export interface ServerSpec {
  role: ServerRole;
  /** Stable name registered with the MGS, e.g. "oss0"; its data lives in `dataDir`. */
  name: string;
  dataDir: string;
  listen: { host: string; port: number };
  /** The node it runs on, for local-first placement. */
  host: string;
  /** "host:port" of the MGS (mds and oss). */
  mgsAddress?: string;
  /** oss: also serve clients on this host over this unix socket. */
  unixSocket?: string;
  /** oss: space it may give to OSTs (default: free disk). */
  capacityBytes?: number;
  /** The address other processes dial, if not the listening one. */
  advertiseAddress?: string;
  /** oss: bytes per second each OST may move (benchmarks give every OST the same budget). */
  bandwidthBytesPerSec?: number;
}

/** A started server: at least the "host:port" it answers on. */
export interface RunningServer {
  readonly address: string;
}

/** Starts one server and resolves once it serves. Launchers record what they start, to stop it. */
export type ServerLauncher<S extends RunningServer> = (spec: ServerSpec) => Promise<S>;

export interface FileSystemServersOptions {
  /** Each server keeps its data in `<dataDir>/<name>`. */
  dataDir: string;
  ossCount: number;
  /** 0 (the default): every server on a free port; else MGS on it, MDS on +1, OSS i on +2+i. */
  basePort?: number;
  /** The node each server says it runs on (default "localhost"). */
  host?: (name: string) => string;
  /** OSS i also serves `<dataDir>/oss<i>.sock` for clients on this host. */
  unixSockets?: boolean;
  /** Space each OSS may give to OSTs (default: free disk). */
  ossCapacityBytes?: number;
}

export interface FileSystemServers<S extends RunningServer> {
  mgs: S;
  mds: S;
  osses: S[];
}

/**
 * Starts the MGS, then one MDS and `ossCount` OSS servers pointed at it, with `launch` (processes
 * or in this process). A failure rejects at once; what did start is whatever `launch` recorded.
 * The servers register themselves; `ensureFileSystem` then creates a file system on them.
 */
export async function startFileSystemServers<S extends RunningServer>(
  opts: FileSystemServersOptions,
  launch: ServerLauncher<S>,
): Promise<FileSystemServers<S>> {
  const base = opts.basePort ?? 0;
  const port = (offset: number) => (base === 0 ? 0 : base + offset);
  const spec = (role: ServerRole, name: string, offset: number, mgsAddress?: string): ServerSpec => ({
    role,
    name,
    dataDir: join(opts.dataDir, name),
    listen: { host: '127.0.0.1', port: port(offset) },
    host: opts.host?.(name) ?? 'localhost',
    ...(mgsAddress !== undefined && { mgsAddress }),
    ...(role === 'oss' && opts.unixSockets && { unixSocket: join(opts.dataDir, `${name}.sock`) }),
    ...(role === 'oss' && opts.ossCapacityBytes !== undefined && { capacityBytes: opts.ossCapacityBytes }),
  });
  const mgs = await launch(spec('mgs', 'mgs', 0));
  const [mds, ...osses] = await Promise.all([
    launch(spec('mds', 'mds0', 1, mgs.address)),
    ...Array.from({ length: opts.ossCount }, (_, i) => launch(spec('oss', `oss${i}`, 2 + i, mgs.address))),
  ]);
  return { mgs, mds: mds!, osses };
}

/** `nacre server` arguments naming the server (role, name, node, MGS, socket, capacity), without --data-dir and --listen. */
export function roleArgs(spec: ServerSpec): string[] {
  return [
    '--role',
    spec.role,
    '--name',
    spec.name,
    '--host',
    spec.host,
    ...(spec.mgsAddress ? ['--mgs', spec.mgsAddress] : []),
    ...(spec.unixSocket ? ['--unix-socket', spec.unixSocket] : []),
    ...(spec.capacityBytes !== undefined ? ['--capacity', String(spec.capacityBytes)] : []),
    ...(spec.advertiseAddress ? ['--advertise', spec.advertiseAddress] : []),
    ...(spec.bandwidthBytesPerSec !== undefined ? ['--bandwidth', String(spec.bandwidthBytesPerSec)] : []),
  ];
}

/** A server in its own `nacre server` process. */
export interface ServerChild extends RunningServer {
  readonly name: string;
  readonly child: Child;
  stop(graceMs?: number): Promise<void>;
}

/**
 * Launches each server as `node <nacre> server …` with its log in `<logDir>/<name>.log`; every
 * child is handed to `started` as soon as it is up, so the caller can stop it.
 */
export function processLauncher(opts: {
  /** Path of cmd/nacre.ts. */
  nacre: string;
  logDir: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  started?: (server: ServerChild) => void;
}): ServerLauncher<ServerChild> {
  return async (spec) => {
    const child = await startChild({
      name: spec.name,
      command: process.execPath,
      args: [
        opts.nacre,
        'server',
        ...roleArgs(spec),
        '--data-dir',
        spec.dataDir,
        '--listen',
        `${spec.listen.host}:${spec.listen.port}`,
      ],
      logFile: join(opts.logDir, `${spec.name}.log`),
      ...(opts.env && { env: opts.env }),
      ...(opts.timeoutMs !== undefined && { timeoutMs: opts.timeoutMs }),
    });
    const server: ServerChild = {
      name: spec.name,
      child,
      address: child.ready.address,
      stop: (graceMs) => child.stop(graceMs),
    };
    opts.started?.(server);
    return server;
  };
}

/** A server running in this process. */
export interface InProcessServer extends RunningServer {
  readonly name: string;
  readonly role: ServerRole;
  /** oss with a unix socket: its address for clients on this host. */
  readonly localAddress?: string;
  /** mds: locks held per MDT, for metrics. */
  readonly lockCounts?: () => ReturnType<MdsService['lockCounts']>;
  /** mds: stale mirror copies of a file system's MDT; undefined while it is not served yet. */
  readonly staleCount?: MdsService['staleCount'];
  /** oss: space of each OST, for metrics. */
  readonly statTargets?: () => ReturnType<OssServer['statTargets']>;
  close(): Promise<void>;
}

/** Knobs of a server in this process that `nacre server` has no flag for (tests shorten them). */
export interface InProcessTuning {
  /** mds, oss: time between registrations with the MGS (ms). Default 3000. */
  registerIntervalMs?: number;
  /** mds: how often it asks the MGS which MDTs to serve (ms). Default 1000. */
  pollMs?: number;
  /** mds: how long clients from before a restart, or gone away, may take to come back (ms). Default 30 s. */
  graceMs?: number;
}

/** Starts one server in this process: what `nacre server --role mgs|mds|oss` runs. */
export async function startServerInProcess(
  spec: ServerSpec,
  tuning: InProcessTuning = {},
): Promise<InProcessServer> {
  const { role, name } = spec;
  const advertise = spec.advertiseAddress !== undefined ? { advertiseAddress: spec.advertiseAddress } : {};
  /** What the MDS and an OSS are both started with: their data, address, node, MGS and registration. */
  const peer = () => ({
    dataDir: spec.dataDir,
    name,
    host: spec.host,
    listen: spec.listen,
    mgsAddress: needMgs(spec),
    ...advertise,
    ...(tuning.registerIntervalMs !== undefined && { registerIntervalMs: tuning.registerIntervalMs }),
  });
  switch (role) {
    // Each role loads only its own modules: an OSS process never loads the MDS's SQLite code.
    case 'mgs': {
      const { startMgs } = await import('../mgs/mgs-server.ts');
      const s = await startMgs({ dataDir: spec.dataDir, listen: spec.listen });
      return { name, role, address: s.address, close: () => s.close() };
    }
    case 'mds': {
      const { startMdsService } = await import('../mds/mds-server.ts');
      const s = await startMdsService({
        ...peer(),
        ...(tuning.pollMs !== undefined && { pollMs: tuning.pollMs }),
        ...(tuning.graceMs !== undefined && { graceMs: tuning.graceMs }),
      });
      return {
        name,
        role,
        address: s.address,
        lockCounts: () => s.lockCounts(),
        staleCount: (fsname) => s.staleCount(fsname),
        close: () => s.close(),
      };
    }
    case 'oss': {
      const { startOss } = await import('../oss/oss-server.ts');
      const s = await startOss({
        ...peer(),
        ...(spec.unixSocket !== undefined && { unixSocket: spec.unixSocket }),
        ...(spec.capacityBytes !== undefined && { capacityBytes: spec.capacityBytes }),
        ...(spec.bandwidthBytesPerSec !== undefined && { bandwidthBytesPerSec: spec.bandwidthBytesPerSec }),
      });
      return {
        name,
        role,
        address: s.address,
        ...(s.localAddress && { localAddress: s.localAddress }),
        statTargets: () => s.statTargets(),
        close: () => s.close(),
      };
    }
  }
}

/** Launches each server in this process; every server is handed to `started` as soon as it is up. */
export function inProcessLauncher(
  opts: { started?: (server: InProcessServer) => void; tuning?: InProcessTuning } = {},
): ServerLauncher<InProcessServer> {
  return async (spec) => {
    const s = await startServerInProcess(spec, opts.tuning);
    opts.started?.(s);
    return s;
  };
}

function needMgs(spec: ServerSpec): string {
  if (!spec.mgsAddress) throw new ValidationError(`--mgs is required for --role ${spec.role}`);
  return spec.mgsAddress;
}
