// Bind mounts, unmounts and health probes of mounted paths, each a child process with a deadline (never a sync call on a mount that may hang).

import type { CommandRunner } from '../../lib/command-runner.ts';
import { DeadlineExceededError, NacreError } from '../../lib/errors.ts';
import { type MountTable, mountAt } from './mountinfo.ts';

/** statfs of a mounted path, in bytes and inodes. */
export interface PathUsage {
  totalBytes: number;
  availableBytes: number;
  usedBytes: number;
  totalInodes: number;
  freeInodes: number;
  usedInodes: number;
}

/**
 * A failed probe; `errno` is statfs(2)'s error code (ENOTCONN: a FUSE mount whose daemon is gone),
 * when it failed with one; `timedOut` when the path did not answer within the probe's deadline.
 */
export type Probe =
  | { ok: true; usage: PathUsage }
  | { ok: false; message: string; errno?: string; timedOut?: boolean };

/** statfs(2) of argv[1] in a child Node process: prints the error code, or OK (the code, unlike stat's message, does not depend on the locale). */
const STATFS_ERRNO =
  'process.getBuiltinModule("fs").statfs(process.argv[1], (e) => process.stdout.write(e ? String(e.code) : "OK"))';

export interface SystemMountsOptions {
  runner: CommandRunner;
  mountTable: MountTable;
  /** Deadline of umount before it is done lazily, and of each probe (default 10 s, 3 s). */
  unmountTimeoutMs?: number;
  probeTimeoutMs?: number;
}

export class SystemMounts {
  private readonly runner: CommandRunner;
  private readonly table: MountTable;
  private readonly unmountMs: number;
  private readonly probeMs: number;
  /** The probe running per file system and path: callers at the same time share it. */
  private readonly inFlight = new Map<string, Promise<Probe>>();
  /** Probes killed at their deadline that have not exited yet (stuck in the kernel), per file system (its device). */
  private readonly stuck = new Map<string, { pid: number; since: number; path: string }>();

  constructor(opts: SystemMountsOptions) {
    this.runner = opts.runner;
    this.table = opts.mountTable;
    this.unmountMs = opts.unmountTimeoutMs ?? 10_000;
    this.probeMs = opts.probeTimeoutMs ?? 3_000;
  }

  /** Bind-mounts `source` on `target`, then makes the bind read-only when asked (a bind takes no ro at first). */
  async bind(source: string, target: string, readOnly: boolean, signal: AbortSignal): Promise<void> {
    await this.must(['--bind', source, target], signal);
    if (readOnly) await this.remountReadOnly(target, signal);
  }

  async remountReadOnly(target: string, signal: AbortSignal): Promise<void> {
    await this.must(['-o', 'remount,bind,ro', target], signal);
  }

  private async must(args: string[], signal: AbortSignal): Promise<void> {
    const r = await this.runner.run('mount', args, { timeoutMs: this.unmountMs, signal });
    if (r.code !== 0) {
      throw new NacreError('MountFailed', `mount ${args.join(' ')} failed (exit ${r.code}): ${r.stderr}`);
    }
  }

  /**
   * Unmounts every mount stacked on `path`. A busy mount or one whose server is gone (umount fails
   * or misses its deadline) is detached lazily: the path is free at once, and the kernel lets go of
   * the file system when the last user does. Resolves when nothing is mounted on `path`.
   */
  async unmount(path: string, signal: AbortSignal): Promise<void> {
    for (let i = 0; i < 16 && mountAt(await this.table(signal), path); i++) {
      const plain = await this.runner
        .run('umount', ['-c', path], { timeoutMs: this.unmountMs, signal })
        .catch((err: unknown) => ({ code: -1, stderr: String(err) }));
      if (plain.code === 0) continue;
      const lazy = await this.runner.run('umount', ['-c', '-l', path], { timeoutMs: this.unmountMs, signal });
      if (lazy.code !== 0 && mountAt(await this.table(signal), path)) {
        throw new NacreError('UnmountFailed', `umount -l ${path} failed (exit ${lazy.code}): ${lazy.stderr}`);
      }
    }
  }

  /**
   * statfs of `path` in a child process: a dead FUSE mount answers ENOTCONN, a hung one misses the
   * deadline. At most one probe per path runs: callers at the same time share it. While a probe
   * killed at its deadline is still stuck in the kernel (its FUSE request read by a daemon that
   * will not answer), every path of that file system (the mount's device: a staging path and the
   * binds published from it) is reported as not answering without starting another; a new mount
   * at the same path is a new device, probed afresh.
   */
  async probe(path: string, signal: AbortSignal): Promise<Probe> {
    signal.throwIfAborted();
    const m = mountAt(await this.table(signal), path);
    signal.throwIfAborted();
    const fs = m ? `device ${m.device}` : `path ${path}`;
    const stuck = this.stuck.get(fs);
    if (stuck) {
      const s = Math.round((Date.now() - stuck.since) / 1000);
      const on = stuck.path === path ? 'it' : `its file system (at ${stuck.path})`;
      return {
        ok: false,
        timedOut: true,
        message: `${path} does not answer statfs: an earlier probe (pid ${stuck.pid}) has waited on ${on} for ${s} s`,
      };
    }
    const key = `${fs}\0${path}`;
    let running = this.inFlight.get(key);
    if (!running) {
      running = this.statfs(path, fs).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, running);
    }
    return abortable(running, signal);
  }

  /** One probe of `path` (on file system `fs`), bounded by its own deadline (not a caller's signal: others may share it). */
  private async statfs(path: string, fs: string): Promise<Probe> {
    const signal = AbortSignal.timeout(4 * this.probeMs);
    const onStuck = (pid: number, exited: Promise<void>) => {
      this.stuck.set(fs, { pid, since: Date.now(), path });
      void exited.then(() => {
        if (this.stuck.get(fs)?.pid === pid) this.stuck.delete(fs);
      });
    };
    try {
      const r = await this.runner.run('stat', ['-f', '-c', '%S %b %f %a %c %d', path], {
        timeoutMs: this.probeMs,
        signal,
        onStuck,
      });
      if (r.code !== 0) {
        const message = r.stderr || `stat -f exited ${r.code}`;
        const errno = await this.statfsErrno(path, signal, onStuck);
        return errno ? { ok: false, message, errno } : { ok: false, message };
      }
      const [bsize = 0, blocks = 0, bfree = 0, bavail = 0, files = 0, ffree = 0] = r.stdout
        .split(' ')
        .map(Number);
      const totalBytes = blocks * bsize;
      const availableBytes = bavail * bsize;
      const usedBytes = (blocks - bfree) * bsize;
      return {
        ok: true,
        usage: {
          totalBytes,
          availableBytes,
          usedBytes: Math.max(0, usedBytes),
          totalInodes: files,
          freeInodes: ffree,
          usedInodes: Math.max(0, files - ffree),
        },
      };
    } catch (err) {
      if (err instanceof DeadlineExceededError) {
        return {
          ok: false,
          timedOut: true,
          message: `${path} does not answer statfs within ${this.probeMs / 1000} s`,
        };
      }
      return { ok: false, message: `${path} did not answer statfs: ${(err as Error).message}` };
    }
  }

  /** The error code of statfs(2) on `path` (undefined when it succeeds or does not answer in time). */
  private async statfsErrno(
    path: string,
    signal: AbortSignal,
    onStuck: (pid: number, exited: Promise<void>) => void,
  ): Promise<string | undefined> {
    const r = await this.runner
      .run(process.execPath, ['-e', STATFS_ERRNO, path], { timeoutMs: this.probeMs, signal, onStuck })
      .catch(() => undefined);
    const code = r?.code === 0 ? r.stdout.trim() : '';
    return /^E[A-Z]+$/.test(code) ? code : undefined;
  }

  /** Whether `path` exists as a directory (a child process, so a hung mount above it cannot block us). */
  async isDirectory(path: string, signal: AbortSignal): Promise<boolean> {
    const r = await this.runner
      .run('test', ['-d', path], { timeoutMs: this.probeMs, signal })
      .catch(() => undefined);
    return r?.code === 0;
  }
}

/** `p`, or the signal's reason as soon as it aborts (`p` goes on for whoever else waits on it). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
