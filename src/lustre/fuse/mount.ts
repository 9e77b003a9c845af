// Mounting and unmounting a FUSE file system over a FileSystemClient: /dev/fuse, mount(8), mountinfo, read-ahead.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { readFile, realpath, writeFile } from 'node:fs/promises';
import { DeadlineExceededError, NacreError } from '../../lib/errors.ts';
import { type Logger, logger } from '../../lib/log.ts';
import type { FileSystemClient } from '../types.ts';
import { fdDevice } from './device.ts';
import { FuseSession, type SessionStats } from './session.ts';

const FS_TYPE = 'fuse.nacre';

export interface MountFuseOptions {
  client: FileSystemClient;
  /** An existing directory. A dead FUSE mount on it (ENOTCONN, its daemon was killed) is detached first. */
  mountPoint: string;
  /** What mount(8) and /proc/mounts show as the source, e.g. `10.0.0.1@tcp:/fsname`. */
  source: string;
  /** Concurrent reads on /dev/fuse (default 4). Each holds a libuv threadpool thread while idle. */
  readers?: number;
  /** Reply FOPEN_DIRECT_IO on open (default true): no page cache, coherent across clients. */
  directIo?: boolean;
  /** How long the kernel may cache a name (default 0). */
  entryTimeoutMs?: number;
  /** How long the kernel may cache attributes (default 0). */
  attrTimeoutMs?: number;
  /** Sets the mount's read_ahead_kb once mounted (buffered mode); the kernel default is 128. */
  readAheadKb?: number;
  /** Largest READ/WRITE request (default and maximum 1 MiB). */
  maxWrite?: number;
  /** Deadline for mount(8), the kernel's INIT and the mountinfo lookup (default 30 s). */
  timeoutMs?: number;
  /** Aborting it unmounts. */
  signal?: AbortSignal;
}

export interface FuseMount {
  readonly mountPoint: string;
  /** The mount's device number, `major:minor` (as in /proc/self/mountinfo and /sys/class/bdi). */
  readonly device: string;
  /**
   * Unmounts (lazily if busy) and resolves once the session has ended, or after a deadline if
   * processes still hold files open on a lazily detached mount (the session then keeps serving
   * them until they close; `closed` resolves then). Idempotent.
   */
  unmount(opts?: { timeoutMs?: number }): Promise<void>;
  /** Resolves when the session has ended (unmounted here or elsewhere) and /dev/fuse is closed. */
  readonly closed: Promise<void>;
  /** Writes /sys/class/bdi/<device>/read_ahead_kb. */
  setReadAhead(kb: number): Promise<void>;
  stats(): SessionStats;
}

interface CommandResult {
  code: number | null;
  output: string;
}

/** Runs a command, optionally passing `fd` as the child's fd 3, killed at the deadline. */
function runCommand(cmd: string, args: string[], timeoutMs: number, fd?: number): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'pipe', 'pipe'];
    if (fd !== undefined) stdio.push(fd);
    const child = spawn(cmd, args, { stdio });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new DeadlineExceededError(`${cmd} ${args.join(' ')} did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.trim() });
    });
  });
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** Undoes mountinfo's octal escapes (`\040` for a space). */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** The `major:minor` of the last `fstype` mount on `mountPoint` in a mountinfo text, if any. */
export function findMountDevice(mountinfo: string, mountPoint: string, fstype = FS_TYPE): string | undefined {
  let found: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    if (sep < 0 || fields.length < sep + 2) continue;
    if (unescapeMountinfo(fields[4] ?? '') === mountPoint && fields[sep + 1] === fstype) found = fields[2];
  }
  return found;
}

/**
 * The real path of the mount point. A FUSE mount left there by a daemon that died answers ENOTCONN;
 * it is detached (lazily, as nothing can use it any more) and the directory below is used.
 */
async function resolveMountPoint(path: string, timeoutMs: number): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await realpath(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOTCONN' || attempt >= 8) throw err;
      logger('fuse', { mountPoint: path }).warn('detaching a dead FUSE mount left by a previous daemon');
      await runCommand('umount', ['-l', path], timeoutMs);
    }
  }
}

async function mountedDevice(mountPoint: string): Promise<string | undefined> {
  return findMountDevice(await readFile('/proc/self/mountinfo', 'utf8'), mountPoint);
}

/**
 * Mounts `client` at `mountPoint` through the kernel's FUSE protocol (as root) and serves it until
 * unmounted. The mount uses allow_other and default_permissions: the kernel checks permissions
 * from the attributes the client returns. Rejects (and leaves nothing mounted) when mount(8) fails,
 * or when the kernel's INIT or the mountinfo lookup miss `timeoutMs`.
 *
 * Requirements on the process:
 * - UV_THREADPOOL_SIZE at least `readers + 4`, set in the environment before Node starts (the CLI
 *   does): each read loop blocks a libuv threadpool thread, and the rest of the process (the
 *   client's file I/O, /proc reads for credentials, notifications) needs threads too;
 * - never access the mount synchronously from this process (fs.*Sync, spawnSync, a child spawned
 *   with its cwd inside the mount): the kernel would wait for this thread, which waits for the kernel;
 * - await `unmount()` before exiting: libuv joins its threads at exit, and blocked reads only end
 *   when the kernel ends the session.
 */
export async function mountFuse(opts: MountFuseOptions): Promise<FuseMount> {
  opts.signal?.throwIfAborted();
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxWrite = Math.min(opts.maxWrite ?? 1 << 20, 1 << 20);
  const mountPoint = await resolveMountPoint(opts.mountPoint, timeoutMs);
  const log = logger('fuse', { mountPoint });
  const fd = fs.openSync('/dev/fuse', 'r+');
  const session = new FuseSession(fdDevice(fd), {
    client: opts.client,
    readers: Math.max(1, opts.readers ?? 4),
    directIo: opts.directIo ?? true,
    timeouts: { entryMs: opts.entryTimeoutMs ?? 0, attrMs: opts.attrTimeoutMs ?? 0 },
    maxWrite,
    log,
  });
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const options = `fd=3,rootmode=40000,user_id=${uid},group_id=${gid},allow_other,default_permissions`;
  let result: CommandResult;
  try {
    result = await runCommand(
      'mount',
      ['-i', '-t', FS_TYPE, '-o', options, opts.source, mountPoint],
      timeoutMs,
      fd,
    );
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  if (result.code !== 0) {
    fs.closeSync(fd);
    throw new NacreError('MountFailed', `mount ${mountPoint} failed (${result.code}): ${result.output}`);
  }
  // Reads on /dev/fuse fail with EPERM until the mount exists; the kernel's INIT waits for them.
  session.start();
  opts.client.onInvalidate((event) => session.invalidate(event));
  const mount = new ServedMount(mountPoint, session, log);
  try {
    await withDeadline(session.initialized, timeoutMs, 'FUSE INIT');
    mount.device =
      (await withDeadline(
        mountedDevice(mountPoint),
        timeoutMs,
        'reading /proc/self/mountinfo (is UV_THREADPOOL_SIZE at least readers + 4?)',
      )) ?? '';
    if (!mount.device) throw new NacreError('MountFailed', `${mountPoint} is not in /proc/self/mountinfo`);
    if (opts.readAheadKb !== undefined) await mount.setReadAhead(opts.readAheadKb);
  } catch (err) {
    await mount.unmount().catch(() => undefined);
    throw err;
  }
  if (opts.signal) {
    const onAbort = () =>
      mount.unmount().catch((err: unknown) => log.error('unmount on abort failed', { err: String(err) }));
    if (opts.signal.aborted) await onAbort();
    else opts.signal.addEventListener('abort', onAbort, { once: true });
  }
  log.info('mounted', { mountPoint, source: opts.source, device: mount.device });
  return mount;
}

class ServedMount implements FuseMount {
  readonly mountPoint: string;
  device = '';
  readonly closed: Promise<void>;
  private readonly session: FuseSession;
  private unmounting: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(mountPoint: string, session: FuseSession, log: Logger) {
    this.mountPoint = mountPoint;
    this.session = session;
    this.log = log;
    this.closed = session.closed;
  }

  stats(): SessionStats {
    return this.session.stats();
  }

  async setReadAhead(kb: number): Promise<void> {
    if (!Number.isInteger(kb) || kb < 0) throw new NacreError('InvalidArgument', `read_ahead_kb ${kb}`);
    await writeFile(`/sys/class/bdi/${this.device}/read_ahead_kb`, `${kb}\n`);
  }

  unmount(opts: { timeoutMs?: number } = {}): Promise<void> {
    this.unmounting ??= this.doUnmount(opts.timeoutMs ?? 10_000);
    return this.unmounting;
  }

  private async doUnmount(timeoutMs: number): Promise<void> {
    let ended = false;
    void this.closed.then(() => (ended = true));
    const plain = await runCommand('umount', [this.mountPoint], timeoutMs);
    if (plain.code !== 0 && !ended && (await this.stillMounted())) {
      this.log.warn('umount failed, detaching lazily', { mountPoint: this.mountPoint, output: plain.output });
      const lazy = await runCommand('umount', ['-l', this.mountPoint], timeoutMs);
      if (lazy.code !== 0 && (await this.stillMounted())) {
        throw new NacreError('UnmountFailed', `umount -l ${this.mountPoint}: ${lazy.output}`);
      }
    }
    try {
      await withDeadline(this.closed, timeoutMs, 'FUSE session end');
    } catch {
      if (await this.abortConnection()) await withDeadline(this.closed, timeoutMs, 'FUSE session abort');
      else
        this.log.warn('files still open on the detached mount; serving them until closed', {
          mountPoint: this.mountPoint,
        });
    }
    this.log.info('unmounted', { mountPoint: this.mountPoint });
  }

  private async stillMounted(): Promise<boolean> {
    const text = await readFile('/proc/self/mountinfo', 'utf8');
    return text.split('\n').some((l) => l.split(' ')[2] === this.device && l.includes(` - ${FS_TYPE} `));
  }

  /** Aborts the connection through fusectl, when /sys/fs/fuse/connections is mounted. */
  private async abortConnection(): Promise<boolean> {
    const minor = this.device.split(':')[1];
    try {
      await writeFile(`/sys/fs/fuse/connections/${minor}/abort`, '1');
      return true;
    } catch {
      return false;
    }
  }
}
