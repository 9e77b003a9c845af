// `nacre mount <mgs>@tcp:/<fsname> <dir>`: a FUSE mount of an emulated file system, as a daemon or in the foreground.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fstatSync, openSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { DeadlineExceededError, NacreError } from '../../src/lib/errors.ts';
import { logger } from '../../src/lib/log.ts';
import { announceReady, type ReadyLine } from '../../src/lib/supervisor.ts';
import type { FuseMount } from '../../src/lustre/fuse/index.ts';
import { formatMountSource, type MountSource, parseMountSource } from '../../src/lustre/mount-source.ts';
import {
  cachedAliasOption,
  cacheMetadataAliasOption,
  cachesData,
  cachesMetadata,
  noCacheMetadataOption,
  noCacheOption,
} from './cache-option.ts';
import { closeWithin } from './close-bound.ts';
import { dataPlaneKeyArgs } from './data-plane.ts';
import { defaultHost, formatRecovery, intOption, RECOVERY_HELP, recoveryOption } from './options.ts';

const log = logger('mount');

/** Default waits for a server that is down: the MDS (every call needs it) longer than an OST (SCRATCH gives EIO). */
const MDS_RECOVERY_MS = 60_000;
const OST_RECOVERY_MS = 5_000;

export interface MountOptions {
  foreground?: boolean;
  host: string;
  readers: number;
  /** Cache in the kernel under the MDS's locks (default true; false with --no-cache). */
  cached?: boolean;
  /** false with --no-cache. */
  cache?: boolean;
  /** Cache names, negative entries and attributes under the MDS's inode-bits locks (default: when `cached`; false with --no-cache-metadata). */
  cacheMetadata?: boolean;
  readAheadKb?: number;
  logFile?: string;
  /** ms that I/O waits for an unreachable MDS or OST before EIO; Infinity: for ever. Default: MDS 60 s, OSTs 5 s. */
  recovery?: number;
}

export function registerMount(program: Command): void {
  program
    .command('mount')
    .description('mount an emulated file system with FUSE (returns once mounted; unmount with umount <dir>)')
    .argument(
      '<source>',
      "the MGS and file system, in Lustre's spelling: <host>[:port]@tcp:/<fsname>",
      parseMountSource,
    )
    .argument('<dir>', 'an existing, empty directory')
    .option('-f, --foreground', 'stay in the foreground and serve the mount until it is unmounted')
    .option('--host <node>', 'this node, for reaching local OSTs over unix sockets', defaultHost())
    .option('--readers <n>', 'concurrent /dev/fuse readers', intOption, 8)
    .addOption(noCacheOption())
    .addOption(cachedAliasOption())
    .addOption(cacheMetadataAliasOption())
    .addOption(noCacheMetadataOption())
    .option('--read-ahead-kb <kb>', 'read-ahead of the mount when it caches (default 4096)', intOption)
    .option('--log-file <path>', 'daemon log (default /tmp/nacre-mount-<fsname>.log)')
    .option(
      '--recovery <seconds|hard>',
      `${RECOVERY_HELP} (default: 60 for the MDS, 5 for OSTs)`,
      recoveryOption,
    )
    .action(async (source: MountSource, dir: string, opts: MountOptions) => {
      const mountPoint = resolve(dir);
      opts.cacheMetadata = cachesMetadata(opts);
      opts.cached = cachesData(opts);
      if (opts.foreground) {
        const m = await mountForeground(source, mountPoint, opts);
        announceReady({ address: source.mgsAddress, mountPoint });
        process.on('SIGINT', () => void m.unmount());
        process.on('SIGTERM', () => void m.unmount());
        await m.unmounted;
        // Whatever the client might leave running, an unmounted foreground mount ends here.
        process.exit(0);
      }
      await daemonize(program, source, mountPoint, opts);
      process.stdout.write(`mounted ${formatMountSource(source)} on ${mountPoint}\n`);
    });
}

/** Read-ahead of a caching mount unless --read-ahead-kb says otherwise. */
const CACHED_READ_AHEAD_KB = 4096;

/** Connects to the file system and mounts it in this process; resolves once mounted. */
export async function mountForeground(
  source: MountSource,
  mountPoint: string,
  opts: Pick<MountOptions, 'host' | 'readers' | 'cached' | 'cacheMetadata' | 'readAheadKb' | 'recovery'>,
): Promise<FuseMount & { unmounted: Promise<void> }> {
  // Loaded here, not at start-up: `nacre --help` and the other commands never pay for the client.
  const { connectLustre } = await import('../../src/lustre/client/lustre-client.ts');
  const { mountFuse } = await import('../../src/lustre/fuse/index.ts');
  const { cachingClient, lockingWritesClient } = await import('../../src/lustre/client/data-locks.ts');
  const { metaCachingClient } = await import('../../src/lustre/client/meta-locks.ts');
  const client = await connectLustre({
    mgsAddress: source.mgsAddress,
    fsname: source.fsname,
    host: opts.host,
    clientId: randomUUID(),
    retryDeadlineMs: opts.recovery ?? MDS_RECOVERY_MS,
    recoveryMs: opts.recovery ?? OST_RECOVERY_MS,
  });
  const cached = opts.cached ?? true;
  // --no-cache turns every cache off, the metadata cache too; --no-cache-metadata only that one.
  const withMeta = (c: ReturnType<typeof cachingClient>) =>
    cached && opts.cacheMetadata !== false ? metaCachingClient(c, client) : c;
  let mount: FuseMount;
  try {
    mount = await mountFuse({
      client: withMeta(cached ? cachingClient(client) : lockingWritesClient(client)),
      mountPoint,
      source: formatMountSource(source),
      readers: opts.readers,
      directIo: !cached,
      ...(opts.readAheadKb !== undefined && { readAheadKb: opts.readAheadKb }),
      // Cached: pages read ahead stay useful (they are kept under the data lock), so read far ahead.
      ...(opts.readAheadKb === undefined && cached && { readAheadKb: CACHED_READ_AHEAD_KB }),
    });
  } catch (err) {
    await client.close();
    throw err;
  }
  const unmounted = mount.closed.then(async () => {
    await closeWithin(client, log);
    log.info('unmounted', { mountPoint });
  });
  return Object.assign(mount, { unmounted });
}

/** Starts `nacre mount --foreground` detached and returns once it reports the mount ready. */
async function daemonize(program: Command, source: MountSource, mountPoint: string, opts: MountOptions) {
  const logFile = opts.logFile ?? join('/tmp', `nacre-mount-${source.fsname}.log`);
  await mkdir(dirname(logFile), { recursive: true });
  const logFd = openSync(logFile, 'a');
  const logStart = fstatSync(logFd).size;
  const nacre = fileURLToPath(new URL('../nacre.ts', import.meta.url));
  const global = program.opts<{ logFormat: string; logLevel: string; debug: string }>();
  const args = [
    nacre,
    `--log-format=${global.logFormat}`,
    `--log-level=${global.logLevel}`,
    ...(global.debug ? [`--debug=${global.debug}`] : []),
    ...dataPlaneKeyArgs(program),
    'mount',
    '--foreground',
    formatMountSource(source),
    mountPoint,
    '--host',
    opts.host,
    '--readers',
    String(opts.readers),
    ...(opts.recovery !== undefined ? ['--recovery', formatRecovery(opts.recovery)] : []),
    ...(opts.cached === false ? ['--no-cache'] : []),
    ...(opts.cached !== false && opts.cacheMetadata === false ? ['--no-cache-metadata'] : []),
    ...(opts.readAheadKb !== undefined ? ['--read-ahead-kb', String(opts.readAheadKb)] : []),
  ];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'pipe', logFd] });
  const lines = createInterface({ input: child.stdout! });
  try {
    await new Promise<ReadyLine>((resolveReady, reject) => {
      const timer = setTimeout(
        () => reject(new DeadlineExceededError(`the mount was not ready within 60 s; see ${logFile}`)),
        60_000,
      );
      lines.on('line', (line) => {
        if (line.includes('"ready"')) {
          clearTimeout(timer);
          resolveReady(JSON.parse(line) as ReadyLine);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        const why = lastFailure(logFile, logStart);
        reject(new NacreError('MountFailed', `${why ?? `mount failed (exit ${code})`}; see ${logFile}`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  lines.close();
  child.stdout!.destroy();
  child.unref();
}

/** The error the mount process printed last ("nacre: …") in its log after `from`, without the prefix. */
function lastFailure(logFile: string, from: number): string | undefined {
  try {
    const lines = readFileSync(logFile).subarray(from).toString('utf8').split('\n');
    const last = lines.filter((l) => l.startsWith('nacre: ')).pop();
    return last?.slice('nacre: '.length);
  } catch {
    return undefined;
  }
}
