// A whole emulated file system as separate processes (MGS, MDS, OSS servers, FUSE mounts) in a temp dir, for end-to-end tests.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type Child, startChild } from '../../src/lib/supervisor.ts';
import { ensureFileSystem } from '../../src/lustre/cluster/create-file-system.ts';
import { roleArgs, startFileSystemServers } from '../../src/lustre/cluster/servers.ts';
import type { FileSystemConfig } from '../../src/lustre/protocol/mgs-messages.ts';
import {
  markOwner,
  mountedUnder,
  onAbnormalExit,
  processesMentioning,
  sweepStale,
  takeDownSync,
} from './leftovers.ts';
import { killChildren, run } from './shell.ts';

const nacre = fileURLToPath(new URL('../../cmd/nacre.ts', import.meta.url));
const GiB = 2 ** 30;
const PREFIX = 'nacre-e2e-';

/** The nacre CLI as an argv prefix for child processes. */
export const NACRE: readonly string[] = [process.execPath, nacre];

/** A server process that can be killed with -9 and started again on the same data directory and port. */
export class ServerProcess {
  readonly name: string;
  readonly dataDir: string;
  readonly #args: string[];
  readonly #logFile: string;
  readonly #env: NodeJS.ProcessEnv | undefined;
  #port = 0;
  #child: Child | undefined;

  constructor(name: string, dataDir: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv) {
    this.name = name;
    this.dataDir = dataDir;
    this.#args = args;
    this.#logFile = logFile;
    this.#env = env;
  }

  /** "127.0.0.1:<port>": the port it got on its first start, kept across restarts. */
  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  get pid(): number | undefined {
    return this.#child?.process.pid;
  }

  get readyLine(): Record<string, unknown> | undefined {
    return this.#child?.ready;
  }

  /** Starts it (port 0 the first time, its earlier port after that) and waits for its ready line. */
  async start(): Promise<void> {
    if (this.#child) throw new Error(`${this.name} is already running`);
    this.#child = await startChild({
      name: this.name,
      command: process.execPath,
      args: [nacre, 'server', ...this.#args, '--data-dir', this.dataDir, '--listen', this.address],
      logFile: this.#logFile,
      ...(this.#env && { env: this.#env }),
    });
    this.#port = Number(this.#child.ready.address.split(':').pop());
  }

  /** kill -9: no chance to flush or say goodbye. Resolves once it is gone. */
  async kill9(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    child?.process.kill('SIGKILL');
    await child?.exited;
  }

  /** SIGTERM, SIGKILL after 5 s. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    await child?.stop(5_000);
  }
}

/** One `nacre mount --foreground` process: one node's mount of the file system. */
export interface FsMount {
  readonly name: string;
  readonly point: string;
  readonly pid: number;
  /** SIGTERM (the daemon unmounts), SIGKILL after 10 s, then `umount -l` if the mount is still there. */
  unmount(): Promise<void>;
}

export interface FsCluster {
  /** Temp directory holding every data dir, mount point and log (logs/<name>.log). */
  readonly dir: string;
  readonly fsname: string;
  /** `<mgs>@tcp:/<fsname>`, what `nacre mount` takes. */
  readonly source: string;
  readonly mgs: ServerProcess;
  readonly mds: ServerProcess;
  readonly osses: ServerProcess[];
  /** The config the MGS returned when the file system was created. */
  readonly config: FileSystemConfig;
  /** Bytes of each OST. */
  readonly ostCapacityBytes: number;
  /** The OSS process serving OST `index`. */
  ossOf(index: number): ServerProcess;
  /** Directory on the OSS's disk holding OST `index`'s objects (`objects/<xx>/<ino>.<stripe>`). */
  ostDir(index: number): string;
  /**
   * Writes `bytes` random bytes to a new file in the cluster's scratch dir (not on a mount) and
   * returns its path and sha256, to copy onto a mount with `dd bs=1M` (small writes are slow there).
   */
  randomFile(bytes: number): Promise<{ path: string; sha256: string }>;
  /** Object files of inode `ino` on the OSS disks: `{ ost, stripe, path }` for each, found by name. */
  objectsOf(ino: number): Promise<{ ost: number; stripe: number; path: string }[]>;
  /** Mounts the file system at `<dir>/<name>` with `nacre mount --foreground` in its own process (`args`: extra mount flags). */
  mount(name: string, opts?: { source?: string; args?: string[] }): Promise<FsMount>;
  /** Starts another server (e.g. the FSx API role) that `stop` stops with the rest. */
  startServer(name: string, args: string[], env?: NodeJS.ProcessEnv): Promise<ServerProcess>;
  /**
   * Unmounts every mount, stops every server and child process, removes the temp dir. Rejects if a
   * mount or a process of this cluster is left behind (the dir is then kept for inspection).
   */
  stop(): Promise<void>;
}

export interface FsClusterOptions {
  fsname?: string;
  ossCount?: number;
  ostCapacityBytes?: number;
  /** Extra arguments of every OSS server (e.g. a bandwidth budget for benchmarks). */
  ossArgs?: string[];
}

/**
 * Starts an MGS, an MDS and `ossCount` (4) OSS processes on 127.0.0.1 port 0, and creates a file
 * system of one OST per OSS through the MGS client. Nothing is mounted yet.
 */
export async function startFsCluster(opts: FsClusterOptions = {}): Promise<FsCluster> {
  await sweepStale(tmpdir(), PREFIX);
  const dir = await mkdtemp(join(tmpdir(), PREFIX));
  // Traversable by the unprivileged user of the permission tests.
  await chmod(dir, 0o755);
  await markOwner(dir);
  await mkdir(join(dir, 'logs'));
  const parts: Parts = {
    dir,
    fsname: opts.fsname ?? 'e2e',
    ostCapacityBytes: opts.ostCapacityBytes ?? 2 * GiB,
    servers: [],
    mounts: [],
  };
  // Killed without its after hooks (a runner's timeout, Ctrl-C): take the mounts and servers down anyway.
  const disarm = onAbnormalExit(() => {
    killChildren();
    takeDownSync(
      dir,
      parts.mounts.map((m) => m.pid),
      parts.servers.flatMap((s) => (s.pid === undefined ? [] : [s.pid])),
    );
  });
  const stop = async () => {
    disarm();
    await stopAll(dir, parts.mounts, parts.servers);
  };
  try {
    // Each server a ServerProcess of its own (restartable on the same port, killable with -9).
    const { mgs, mds, osses } = await startFileSystemServers(
      { dataDir: dir, ossCount: opts.ossCount ?? 4, host: (name) => `e2e-${name}` },
      async (spec) => {
        const s = serverIn(parts, spec.name, [
          ...roleArgs(spec),
          ...(spec.role === 'oss' ? (opts.ossArgs ?? []) : []),
        ]);
        await s.start();
        return s;
      },
    );
    // One OST on each OSS, created once every server has registered (else OSTs double up on early ones).
    const config = await ensureFileSystem(
      mgs.address,
      {
        fsname: parts.fsname,
        ostCount: osses.length,
        ostCapacityBytes: parts.ostCapacityBytes,
        defaultLayout: { stripeCount: 1, stripeSize: 2 ** 20, stripeOffset: -1 },
      },
      { ossServers: osses.length, mdsServers: 1 },
    );
    return assemble(parts, { mgs, mds, osses, config, stop });
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** What a cluster is made of while it is being started; everything in it is stopped by `stop`. */
interface Parts {
  dir: string;
  fsname: string;
  ostCapacityBytes: number;
  servers: ServerProcess[];
  mounts: FsMount[];
}

const logOf = (dir: string, name: string) => join(dir, 'logs', `${name}.log`);

/** A server with its data dir and log in the cluster's dir, stopped with the cluster (not started yet). */
function serverIn(parts: Parts, name: string, args: string[], env?: NodeJS.ProcessEnv): ServerProcess {
  const s = new ServerProcess(name, join(parts.dir, name), args, logOf(parts.dir, name), env);
  parts.servers.push(s);
  return s;
}

function assemble(
  parts: Parts,
  started: Pick<FsCluster, 'mgs' | 'mds' | 'osses' | 'config' | 'stop'>,
): FsCluster {
  const { dir } = parts;
  const { config, osses } = started;
  const source = `${started.mgs.address}@tcp:/${parts.fsname}`;
  const ossOf = (index: number) => {
    const t = config.osts.find((o) => o.index === index);
    const s = t && osses.find((o) => o.name === t.server);
    if (!t || !s) throw new Error(`no OSS serves OST ${index}`);
    return s;
  };
  const ostDir = (index: number) =>
    join(ossOf(index).dataDir, config.osts.find((o) => o.index === index)!.target);
  let scratchFiles = 0;
  return {
    ...started,
    dir,
    fsname: parts.fsname,
    source,
    ostCapacityBytes: parts.ostCapacityBytes,
    ossOf,
    ostDir,
    randomFile: async (bytes) => {
      const data = randomBytes(bytes);
      const path = join(dir, 'scratch', `random-${++scratchFiles}`);
      await mkdir(join(dir, 'scratch'), { recursive: true });
      await writeFile(path, data);
      return { path, sha256: createHash('sha256').update(data).digest('hex') };
    },
    objectsOf: async (ino) => {
      const found = await Promise.all(config.osts.map((t) => objectsIn(ostDir(t.index), ino)));
      return found.flatMap((paths, i) =>
        paths.map((path) => ({ ost: config.osts[i]!.index, stripe: Number(path.split('.').pop()), path })),
      );
    },
    mount: async (name, mopts = {}) => {
      const m = await startMount(dir, name, mopts.source ?? source, logOf(dir, `mount-${name}`), mopts.args);
      parts.mounts.push(m);
      return m;
    },
    startServer: async (name, args, env) => {
      const s = serverIn(parts, name, args, env);
      await s.start();
      return s;
    },
  };
}

/** What `useFsCluster` gives a test file. */
export interface TestFs {
  /** Settles when the cluster is up and mounted; await it in the file's own `before` hooks (they run concurrently). */
  readonly ready: Promise<void>;
  readonly cluster: FsCluster;
  /** Mount points by mount name. */
  readonly mounts: Readonly<Record<string, string>>;
}

/**
 * Registers hooks that start a cluster and mount it under each of `mounts` (each its own process)
 * before the file's tests, and stop everything after them, even when they fail. `after` waits for a
 * start still under way (node:test runs it early when a name filter leaves no test to run).
 */
export function useFsCluster(
  opts: FsClusterOptions & {
    mounts: string[];
    mountArgs?: string[];
    /** Per mount name, instead of `mountArgs`. */
    mountArgsOf?: Readonly<Record<string, string[]>>;
  },
): TestFs {
  let cluster: FsCluster | undefined;
  const mounts: Record<string, string> = {};
  let stopped = false;
  const start = Promise.withResolvers<void>();
  // Rejections are reported through the hooks that await it.
  start.promise.catch(() => undefined);
  before(async () => {
    if (stopped) return start.reject(new Error('stopped before it started'));
    try {
      cluster = await startFsCluster(opts);
      for (const name of opts.mounts) {
        const args = opts.mountArgsOf?.[name] ?? opts.mountArgs;
        mounts[name] = (await cluster.mount(name, args ? { args } : {})).point;
      }
      start.resolve();
    } catch (err) {
      start.reject(err);
      throw err;
    }
  });
  after(async () => {
    stopped = true;
    await start.promise.catch(() => undefined);
    await cluster?.stop();
  });
  return {
    ready: start.promise,
    get cluster() {
      if (!cluster) throw new Error('the cluster is not running (its before hook failed or has not run)');
      return cluster;
    },
    mounts,
  };
}

async function startMount(
  dir: string,
  name: string,
  source: string,
  logFile: string,
  extra: string[] = [],
): Promise<FsMount> {
  const point = join(dir, name);
  await mkdir(point);
  const child = await startChild({
    name: `mount ${name}`,
    command: process.execPath,
    args: [nacre, 'mount', '--foreground', '--host', `e2e-node-${name}`, ...extra, source, point],
    logFile,
  });
  let unmounted: Promise<void> | undefined;
  return {
    name,
    point,
    pid: child.process.pid!,
    unmount: () => {
      unmounted ??= (async () => {
        await child.stop(10_000);
        if (mountedUnder(point).length > 0) await run(['umount', '-l', point], { timeoutMs: 10_000 });
      })();
      return unmounted;
    },
  };
}

async function stopAll(dir: string, mounts: FsMount[], servers: ServerProcess[]): Promise<void> {
  // A test's leftover child (a lock holder, a dd stuck on a dead OST) would keep a mount busy.
  killChildren();
  for (const m of [...mounts].reverse()) await m.unmount();
  for (const s of [...servers].reverse()) await s.stop();
  // A mount of this cluster left behind (not one of ours, or one umount could not take down).
  for (const p of mountedUnder(dir).reverse()) await run(['umount', '-l', p], { timeoutMs: 10_000 });
  const mountsLeft = mountedUnder(dir);
  let procsLeft = processesMentioning(dir);
  for (let i = 0; i < 100 && procsLeft.length > 0; i++) {
    await sleep(50);
    procsLeft = processesMentioning(dir);
  }
  if (mountsLeft.length > 0 || procsLeft.length > 0) {
    throw new Error(
      `left behind in ${dir}: mounts ${JSON.stringify(mountsLeft)}, processes ${JSON.stringify(procsLeft)}`,
    );
  }
  await rm(dir, { recursive: true, force: true });
}

/** Paths of the object files named `<ino>.<stripe>` under an OST directory's `objects/<xx>/`. */
async function objectsIn(ostDir: string, ino: number): Promise<string[]> {
  const found: string[] = [];
  for (const sub of await readdir(join(ostDir, 'objects')).catch(() => [])) {
    for (const name of await readdir(join(ostDir, 'objects', sub)).catch(() => [])) {
      if (name.startsWith(`${ino}.`)) found.push(join(ostDir, 'objects', sub, name));
    }
  }
  return found;
}
