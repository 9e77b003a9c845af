// A whole emulated file system as separate processes — MGS, MDS, OSS servers and FUSE mounts — for end-to-end tests.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Child, startChild } from '../../src/lib/supervisor.ts';
import type { FileSystemConfig } from '../../src/lustre/mgs/api.ts';
import { ensureFileSystem } from '../../src/lustre/roles/file-system.ts';

const nacre = fileURLToPath(new URL('../../cmd/nacre.ts', import.meta.url));
export const run = promisify(execFile);

/** A server process that can be killed and started again on the same data directory and port. */
export class ServerProcess {
  readonly name: string;
  readonly #args: string[];
  readonly #logFile: string;
  #port = 0;
  child: Child | undefined;

  readonly #env: NodeJS.ProcessEnv | undefined;

  constructor(name: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv) {
    this.name = name;
    this.#args = args;
    this.#logFile = logFile;
    this.#env = env;
  }

  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  async start(): Promise<void> {
    this.child = await startChild({
      name: this.name,
      command: process.execPath,
      args: [nacre, 'server', ...this.#args, '--listen', `127.0.0.1:${this.#port}`],
      logFile: this.#logFile,
      ...(this.#env && { env: this.#env }),
    });
    this.#port = Number(this.child.ready.address.split(':').pop());
  }

  /** kill -9: no chance to flush or say goodbye. */
  async kill9(): Promise<void> {
    this.child?.process.kill('SIGKILL');
    await this.child?.exited;
    this.child = undefined;
  }

  async stop(): Promise<void> {
    await this.child?.stop(5_000);
    this.child = undefined;
  }
}

export interface FsProcesses {
  dir: string;
  mgs: ServerProcess;
  mds: ServerProcess;
  osses: ServerProcess[];
  config: FileSystemConfig;
  source: string;
  /** Mounts the file system with `nacre mount --foreground` in its own process. */
  mount(name: string, source?: string): Promise<string>;
  /** Starts another server process that is stopped with the rest. */
  startServer(name: string, args: string[], env?: NodeJS.ProcessEnv): Promise<ServerProcess>;
  stop(): Promise<void>;
}

export async function startFsProcesses(opts: { osts?: number; fsname?: string } = {}): Promise<FsProcesses> {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-e2e-'));
  await mkdir(join(dir, 'logs'));
  const fsname = opts.fsname ?? 'e2e';
  const server = (role: string, name: string, extra: string[] = []) =>
    new ServerProcess(
      name,
      ['--role', role, '--name', name, '--data-dir', join(dir, name), ...extra],
      join(dir, 'logs', `${name}.log`),
    );
  const mgs = server('mgs', 'mgs');
  const mounts: { point: string; child: Child }[] = [];
  const all: ServerProcess[] = [mgs];
  const stop = async () => {
    for (const m of mounts.reverse()) {
      await m.child.stop(10_000);
      await run('umount', ['-l', m.point]).catch(() => undefined);
    }
    for (const s of all.reverse()) await s.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await mgs.start();
    const mds = server('mds', 'mds0', ['--mgs', mgs.address]);
    const osses = Array.from({ length: opts.osts ?? 4 }, (_, i) =>
      server('oss', `oss${i}`, ['--mgs', mgs.address]),
    );
    all.push(mds, ...osses);
    await Promise.all([mds, ...osses].map((s) => s.start()));
    const config = await ensureFileSystem(
      mgs.address,
      {
        fsname,
        ostCount: osses.length,
        ostCapacityBytes: 2 * 2 ** 30,
        defaultLayout: { stripeCount: 1, stripeSize: 2 ** 20, stripeOffset: -1 },
      },
      { ossServers: osses.length },
    );
    const source = `${mgs.address}@tcp:/${fsname}`;
    const mount = async (name: string, from = source) => {
      const point = join(dir, name);
      await mkdir(point);
      const child = await startChild({
        name: `mount ${name}`,
        command: process.execPath,
        args: [nacre, 'mount', '--foreground', from, point],
        logFile: join(dir, 'logs', `mount-${name}.log`),
      });
      mounts.push({ point, child });
      return point;
    };
    const startServer = async (name: string, args: string[], env?: NodeJS.ProcessEnv) => {
      const s = new ServerProcess(
        name,
        [...args, '--data-dir', join(dir, name)],
        join(dir, 'logs', `${name}.log`),
        env,
      );
      all.push(s);
      await s.start();
      return s;
    };
    return { dir, mgs, mds, osses, config, source, mount, startServer, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Runs a shell script in a child process (never touching the mounts from the test's own process). */
export async function sh(script: string, opts: { timeoutMs?: number } = {}): Promise<string> {
  const { stdout } = await run('sh', ['-c', script], {
    timeout: opts.timeoutMs ?? 60_000,
    maxBuffer: 16 << 20,
  });
  return stdout;
}

/** Like `sh`, but resolves with the exit code and stderr instead of rejecting. */
export async function shResult(
  script: string,
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('sh', ['-c', script], { timeout: timeoutMs });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export function nacreCli(args: string): string {
  return `${process.execPath} ${nacre} ${args}`;
}
