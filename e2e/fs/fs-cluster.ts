// A whole emulated file system as separate processes (MGS, MDS, OSS servers, FUSE mounts) in a temp dir, for end-to-end tests.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type Child, startChild } from '../../src/lib/supervisor.ts';
import type { FileSystemConfig } from '../../src/lustre/mgs/api.ts';
import { MgsClient } from '../../src/lustre/mgs/client.ts';
import { killChildren, run } from './shell.ts';

const nacre = fileURLToPath(new URL('../../cmd/nacre.ts', import.meta.url));
const GiB = 2 ** 30;

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
  /** Mounts the file system at `<dir>/<name>` with `nacre mount --foreground` in its own process. */
  mount(name: string, opts?: { source?: string }): Promise<FsMount>;
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
  const dir = await mkdtemp(join(tmpdir(), 'nacre-e2e-'));
  // Traversable by the unprivileged user of the permission tests.
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'logs'));
  const fsname = opts.fsname ?? 'e2e';
  const ossCount = opts.ossCount ?? 4;
  const ostCapacityBytes = opts.ostCapacityBytes ?? 2 * GiB;
  const log = (name: string) => join(dir, 'logs', `${name}.log`);
  const server = (name: string, args: string[], env?: NodeJS.ProcessEnv) =>
    new ServerProcess(name, join(dir, name), args, log(name), env);
  const servers: ServerProcess[] = [];
  const mounts: FsMount[] = [];
  const stopOnExit = () => emergencyCleanup(dir, mounts, servers);
  process.once('exit', stopOnExit);
  const stop = async () => {
    process.off('exit', stopOnExit);
    await stopAll(dir, mounts, servers);
  };
  try {
    const mgs = server('mgs', ['--role', 'mgs']);
    servers.push(mgs);
    await mgs.start();
    const peer = (role: string, name: string, extra: string[] = []) =>
      server(name, ['--role', role, '--name', name, '--host', `e2e-${name}`, '--mgs', mgs.address, ...extra]);
    const mds = peer('mds', 'mds0');
    const osses = Array.from({ length: ossCount }, (_, i) => peer('oss', `oss${i}`, opts.ossArgs));
    servers.push(mds, ...osses);
    await Promise.all([mds, ...osses].map((s) => s.start()));
    const config = await createFileSystem(mgs.address, fsname, ossCount, ostCapacityBytes);
    const source = `${mgs.address}@tcp:/${fsname}`;
    const ossOf = (index: number) => {
      const t = config.osts.find((o) => o.index === index);
      const s = t && osses.find((o) => o.name === t.server);
      if (!t || !s) throw new Error(`no OSS serves OST ${index}`);
      return s;
    };
    const ostDir = (index: number) =>
      join(ossOf(index).dataDir, config.osts.find((o) => o.index === index)!.target);
    let scratchFiles = 0;
    const cluster: FsCluster = {
      dir,
      fsname,
      source,
      mgs,
      mds,
      osses,
      config,
      ostCapacityBytes,
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
        const m = await startMount(dir, name, mopts.source ?? source, log(`mount-${name}`));
        mounts.push(m);
        return m;
      },
      startServer: async (name, args, env) => {
        const s = server(name, args, env);
        servers.push(s);
        await s.start();
        return s;
      },
      stop,
    };
    return cluster;
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** Waits until `ossCount` OSS servers have registered, then creates the file system (one OST each). */
async function createFileSystem(
  mgsAddress: string,
  fsname: string,
  ossCount: number,
  ostCapacityBytes: number,
): Promise<FileSystemConfig> {
  const mgs = new MgsClient({ address: mgsAddress, timeoutMs: 30_000 });
  try {
    const deadline = Date.now() + 30_000;
    const registered = async () => {
      const servers = await mgs.listServers();
      return (
        servers.some((s) => s.role === 'mds') && servers.filter((s) => s.role === 'oss').length >= ossCount
      );
    };
    while (!(await registered())) {
      if (Date.now() > deadline)
        throw new Error(`an MDS and ${ossCount} OSS servers did not register within 30 s`);
      await sleep(50);
    }
    return await mgs.createFileSystem({
      fsname,
      ostCount: ossCount,
      ostCapacityBytes,
      defaultLayout: { stripeCount: 1, stripeSize: 2 ** 20, stripeOffset: -1 },
    });
  } finally {
    mgs.close();
  }
}

async function startMount(dir: string, name: string, source: string, logFile: string): Promise<FsMount> {
  const point = join(dir, name);
  await mkdir(point);
  const child = await startChild({
    name: `mount ${name}`,
    command: process.execPath,
    args: [nacre, 'mount', '--foreground', '--host', `e2e-node-${name}`, source, point],
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
  for (const m of [...mounts].reverse()) await m.unmount();
  for (const s of [...servers].reverse()) await s.stop();
  killChildren();
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

/** Last resort when the test process exits without its after hooks: detach mounts, kill servers. */
function emergencyCleanup(dir: string, mounts: FsMount[], servers: ServerProcess[]): void {
  killChildren();
  for (const m of mounts) {
    try {
      process.kill(m.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  for (const p of mountedUnder(dir).reverse()) spawnSync('umount', ['-l', p], { timeout: 5_000 });
  for (const s of servers) {
    try {
      if (s.pid !== undefined) process.kill(s.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}

/** Mount points at or below `path`, from /proc/self/mountinfo (never touching the mounts themselves). */
export function mountedUnder(path: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))))
    .filter((p) => p === path || p.startsWith(`${path}/`));
}

/** "pid cmdline" of live processes whose command line mentions `text`. */
export function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (cmd.includes(text) && Number(pid) !== process.pid) found.push(`${pid} ${cmd.slice(0, 200)}`);
    } catch {
      // Exited while we looked.
    }
  }
  return found;
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
