// The Mounter port and its implementations: the kernel Lustre client (aws) and Nacre's FUSE client kept alive by a keeper (emulated).
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandRunner } from '../../lib/command-runner.ts';
import { NacreError } from '../../lib/errors.ts';
import { keeperLiveness, readKeeperState } from '../../lustre/fuse/keeper.ts';
import { formatMountSource, parseMountSource } from '../../lustre/mount-source.ts';
import type { KeeperHolder, KeeperStatus } from '../holder/holder-protocol.ts';
import { fuseKeeperArgs, parseFuseMountFlags } from './fuse-options.ts';
import { spawnKeeper } from './keeper-spawn.ts';
import { type MountTable, mountAt } from './mountinfo.ts';

/** What to mount: Lustre's `<dnsName>@tcp:/<mountName>` with the StorageClass's mount options. */
export interface MountSpec {
  dnsName: string;
  mountName: string;
  options: readonly string[];
}

/**
 * Mounts a file system on a directory. `mount` is not idempotent by itself: the node service reads
 * the mount table first and calls it only when nothing is mounted there. It rejects with
 * NacreError('MountFailed') carrying the mount command's own message, or DeadlineExceededError.
 */
export interface Mounter {
  /** The file system type /proc/self/mountinfo shows for these mounts. */
  readonly fsType: string;
  /** The source /proc/self/mountinfo shows for `spec`. */
  source(spec: MountSpec): string;
  mount(spec: MountSpec, target: string, signal: AbortSignal): Promise<void>;
}

export function lustreSource(spec: MountSpec): string {
  return `${spec.dnsName}@tcp:/${spec.mountName}`;
}

/** `mount -t lustre <dnsName>@tcp:/<mountName> <dir>` with the kernel Lustre client (FSx). */
export class LustreKernelMounter implements Mounter {
  readonly fsType = 'lustre';
  private readonly runner: CommandRunner;
  private readonly timeoutMs: number;

  constructor(runner: CommandRunner, timeoutMs = 60_000) {
    this.runner = runner;
    this.timeoutMs = timeoutMs;
  }

  source(spec: MountSpec): string {
    return lustreSource(spec);
  }

  async mount(spec: MountSpec, target: string, signal: AbortSignal): Promise<void> {
    const options = spec.options.length > 0 ? ['-o', spec.options.join(',')] : [];
    const args = ['-t', 'lustre', ...options, lustreSource(spec), target];
    const r = await this.runner.run('mount', args, { timeoutMs: this.timeoutMs, signal });
    if (r.code !== 0) {
      throw new NacreError(
        'MountFailed',
        `mount ${args.join(' ')} failed (exit ${r.code}): ${r.stderr || r.stdout}`,
      );
    }
  }
}

/** How to start `nacre fuse-keeper <source> <target> --state-file … --log-file …` (the mounter appends the mount options' flags). */
export type KeeperCommand = (
  source: string,
  target: string,
  stateFile: string,
  logFile: string,
) => { command: string; args: string[] };

export interface FuseMounterOptions {
  /** Holds keepers/<hash>.json (their state) and logs/<hash>.log. */
  stateDir: string;
  keeperCommand: KeeperCommand;
  /** A mount holder that starts and keeps the keepers (nacre mount-holder); undefined: this process spawns them. */
  holder?: KeeperHolder;
  mountTable: MountTable;
  timeoutMs?: number;
}

/**
 * Nacre's FUSE client for emulated file systems, run by a keeper in its own session (so it outlives
 * the node plugin) that replaces the daemon when it dies (see lustre/fuse/keeper.ts).
 */
export class FuseMounter implements Mounter {
  readonly fsType = 'fuse.nacre';
  private readonly opts: FuseMounterOptions;

  constructor(opts: FuseMounterOptions) {
    this.opts = opts;
  }

  /** As the keeper mounts it, so as mountinfo shows it: with the MGS port (988 when the DNS name has none). */
  source(spec: MountSpec): string {
    return formatMountSource(parseMountSource(lustreSource(spec)));
  }

  private files(target: string): { stateFile: string; logFile: string } {
    const h = createHash('sha256').update(target).digest('hex').slice(0, 24);
    return {
      stateFile: join(this.opts.stateDir, 'keepers', `${h}.json`),
      logFile: join(this.opts.stateDir, 'logs', `${h}.log`),
    };
  }

  /** The keeper's published state for the mount at `target` and whether its processes live (asked of the holder when there is one). */
  async keeperState(target: string, signal: AbortSignal): Promise<KeeperStatus | undefined> {
    const { stateFile } = this.files(target);
    if (this.opts.holder) return this.opts.holder.status(stateFile, signal);
    const s = await readKeeperState(stateFile);
    return s && { ...s, ...keeperLiveness(s) };
  }

  async mount(spec: MountSpec, target: string, signal: AbortSignal): Promise<void> {
    const { stateFile, logFile } = this.files(target);
    await mkdir(join(this.opts.stateDir, 'keepers'), { recursive: true });
    await mkdir(join(this.opts.stateDir, 'logs'), { recursive: true });
    // Longer than the keeper's own deadline (60 s), so a keeper that gives up cleans up first.
    const timeoutMs = this.opts.timeoutMs ?? 90_000;
    let outcome = '';
    for (let attempt = 0; attempt < 2; attempt++) {
      outcome = await this.startKeeper(spec, target, stateFile, logFile, timeoutMs, signal);
      if (outcome === 'ready') return;
      // A keeper from before a plugin crash may still be mounting here: wait for its mount, or for
      // it to give up (then start one of our own once more).
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        signal.throwIfAborted();
        if (mountAt(await this.opts.mountTable(signal), target)?.fsType === this.fsType) return;
        if (!(await readFile(`${stateFile}.lock`, 'utf8').catch(() => ''))) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
    throw new NacreError(
      'MountFailed',
      `mounting ${lustreSource(spec)} on ${target} failed (${outcome}): ${tail}`,
    );
  }

  private async startKeeper(
    spec: MountSpec,
    target: string,
    stateFile: string,
    logFile: string,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<string> {
    if (this.opts.holder) {
      const req = { source: lustreSource(spec), target, stateFile, logFile, options: [...spec.options] };
      return this.opts.holder.start(req, timeoutMs, signal);
    }
    const base = this.opts.keeperCommand(lustreSource(spec), target, stateFile, logFile);
    const args = [...base.args, ...fuseKeeperArgs(parseFuseMountFlags(spec.options))];
    return spawnKeeper({ command: base.command, args }, logFile, timeoutMs, signal);
  }
}
