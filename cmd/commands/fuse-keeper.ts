// `nacre fuse-keeper` and `nacre fuse-serve`: a FUSE mount whose descriptor outlives its daemon (started by `nacre node`, not by hand).
import { randomUUID } from 'node:crypto';
import { openSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { logger } from '../../src/lib/log.ts';
import { announceReady } from '../../src/lib/supervisor.ts';
import type { AdoptedInit } from '../../src/lustre/fuse/adopt.ts';
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

interface KeeperFlags {
  stateFile: string;
  logFile: string;
  host: string;
  readers: number;
  cache?: boolean;
  cached?: boolean;
  cacheMetadata?: boolean;
  mountOptions?: string;
  recovery?: number;
}

interface ServeFlags {
  fd: number;
  adopt?: string;
  host: string;
  readers: number;
  cache?: boolean;
  cached?: boolean;
  cacheMetadata?: boolean;
  recovery?: number;
  pageJournal?: string;
  mountId?: string;
}

function globalArgs(program: Command): string[] {
  const g = program.opts<{ logFormat: string; logLevel: string; debug: string }>();
  return [
    `--log-format=${g.logFormat}`,
    `--log-level=${g.logLevel}`,
    ...(g.debug ? [`--debug=${g.debug}`] : []),
    ...dataPlaneKeyArgs(program),
  ];
}

export function registerFuseKeeper(program: Command): void {
  program
    .command('fuse-keeper', { hidden: true })
    .description('mount with FUSE and keep the /dev/fuse descriptor, replacing the daemon whenever it dies')
    .argument('<source>', '<host>[:port]@tcp:/<fsname>', parseMountSource)
    .argument('<dir>', 'the mount point (real path)')
    .requiredOption('--state-file <path>', 'where the keeper publishes its pid, the daemon pid and restarts')
    .requiredOption('--log-file <path>', 'where daemons write their logs')
    .option('--host <node>', 'this node, for reaching local OSTs over unix sockets', defaultHost())
    .option('--readers <n>', 'concurrent /dev/fuse readers', intOption, 8)
    .addOption(noCacheOption())
    .addOption(cachedAliasOption())
    .addOption(cacheMetadataAliasOption())
    .addOption(noCacheMetadataOption())
    .option('--mount-options <list>', 'per-mount flags for mount(8), e.g. ro,noatime')
    .option('--recovery <seconds|hard>', RECOVERY_HELP, recoveryOption)
    .action(async (source: MountSource, dir: string, f: KeeperFlags) => {
      const log = logger('fuse-keeper', { mountPoint: dir });
      // Whoever started us may be gone (kill -9 of the node plugin) before the ready line: never die of EPIPE.
      process.stdout.on('error', () => undefined);
      // The mount must outlive whoever started the keeper: termination requests are logged, not obeyed.
      for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
        process.on(sig, () => log.warn(`ignoring ${sig}: unmount ${dir} to end this keeper`));
      }
      const nacre = fileURLToPath(new URL('../nacre-fuse.ts', import.meta.url));
      const daemon = (adopt: AdoptedInit | undefined, mountId: string) => ({
        command: process.execPath,
        args: [
          nacre,
          ...globalArgs(program),
          'fuse-serve',
          formatMountSource(source),
          dir,
          '--fd',
          '3',
          '--host',
          f.host,
          '--readers',
          String(f.readers),
          ...(cachesData(f) ? [] : ['--no-cache']),
          ...(cachesData(f) && !cachesMetadata(f) ? ['--no-cache-metadata'] : []),
          ...(f.recovery !== undefined ? ['--recovery', formatRecovery(f.recovery)] : []),
          ...(adopt ? ['--adopt', `${adopt.minor}:${adopt.flags}`] : []),
          '--mount-id',
          mountId,
          '--page-journal',
          `${f.stateFile}.pages`,
        ],
      });
      const { ExecRunner } = await import('../../src/lib/command-runner.ts');
      const { runKeeper } = await import('../../src/lustre/fuse/keeper.ts');
      await runKeeper(
        {
          source: formatMountSource(source),
          mountPoint: dir,
          stateFile: f.stateFile,
          daemon,
          logFd: openSync(f.logFile, 'a'),
          runner: new ExecRunner(),
          timeoutMs: 60_000,
          log,
          ...(f.mountOptions ? { mountFlags: f.mountOptions.split(',') } : {}),
        },
        (state) => announceReady({ address: formatMountSource(source), ...state }),
      );
      await rm(`${f.stateFile}.pages`, { force: true });
      log.info('mount gone; keeper done');
      process.exit(0);
    });

  program
    .command('fuse-serve', { hidden: true })
    .description('serve a FUSE mount on an inherited /dev/fuse descriptor (run by fuse-keeper)')
    .argument('<source>', '<host>[:port]@tcp:/<fsname>', parseMountSource)
    .argument('<dir>', 'the mount point, for logs')
    .option('--fd <n>', 'the /dev/fuse descriptor', intOption, 3)
    .option(
      '--adopt <minor:flags>',
      'a previous daemon negotiated INIT: serve at once and resend lost requests',
    )
    .option('--host <node>', 'this node, for reaching local OSTs over unix sockets', defaultHost())
    .option('--readers <n>', 'concurrent /dev/fuse readers', intOption, 8)
    .addOption(noCacheOption())
    .addOption(cachedAliasOption())
    .addOption(cacheMetadataAliasOption())
    .addOption(noCacheMetadataOption())
    .option('--recovery <seconds|hard>', RECOVERY_HELP, recoveryOption)
    .option(
      '--mount-id <id>',
      "the keeper's id of this mount: a resent O_APPEND write or namespace change is not applied twice",
    )
    .option(
      '--page-journal <path>',
      'where a caching daemon records the inodes whose pages the kernel may keep, for the daemon that adopts the mount after it',
    )
    .action(async (source: MountSource, dir: string, f: ServeFlags) => {
      const cached = cachesData(f);
      const meta = cachesMetadata(f);
      const log = logger('fuse', { mountPoint: dir });
      process.stdout.on('error', () => undefined);
      // Loaded here so that keepers, which share this module, do not carry the client.
      const { connectLustre } = await import('../../src/lustre/client/lustre-client.ts');
      const { serveFuseFd } = await import('../../src/lustre/fuse/serve-fd.ts');
      const { cachingClient, lockingWritesClient } = await import('../../src/lustre/client/data-locks.ts');
      const { metaCachingClient } = await import('../../src/lustre/client/meta-locks.ts');
      const client = await connectLustre({
        mgsAddress: source.mgsAddress,
        fsname: source.fsname,
        host: f.host,
        clientId: randomUUID(),
        ...(f.mountId !== undefined && { mountId: f.mountId }),
        ...(f.recovery !== undefined && { retryDeadlineMs: f.recovery, recoveryMs: f.recovery }),
      });
      // Names and attributes live in this daemon only (the kernel keeps zero timeouts), so an adopting daemon starts with none.
      const withMeta = (c: ReturnType<typeof cachingClient>) => (meta ? metaCachingClient(c, client) : c);
      const [minor, flags] = (f.adopt ?? '').split(':');
      const adopt = f.adopt ? { minor: Number(minor), flags: BigInt(flags ?? '0') } : undefined;
      const { dropAll, PageJournal } = await import('../../src/lustre/fuse/page-journal.ts');
      const pages =
        cached && f.pageJournal
          ? await PageJournal.open(f.pageJournal, adopt !== undefined, log, AbortSignal.timeout(10_000))
          : undefined;
      if (adopt && cached && !pages) {
        log.warn(
          'adopting a caching mount without --page-journal: pages the previous daemon cached stay until the kernel drops them; another mount writing meanwhile is not seen through them',
        );
      }
      const served = await serveFuseFd(
        {
          client: cached
            ? withMeta(cachingClient(client, pages && ((ino) => pages.journal.record(ino))))
            : lockingWritesClient(client),
          fd: f.fd,
          readers: f.readers,
          directIo: !cached,
          log,
          ...(adopt && { adopt }),
          ...(pages && { onForgotten: (ino: number) => void pages.journal.forgotten(ino) }),
        },
        AbortSignal.timeout(60_000),
      );
      if (pages && pages.previous.length > 0) {
        // The previous daemon's locks died with it: its pages must go before this one is ready.
        await dropAll(pages.previous, (ino) => client.dropCache(ino), 16, AbortSignal.timeout(60_000));
        await pages.journal.forget(pages.previous, AbortSignal.timeout(10_000));
        log.info("dropped the kernel's pages of the files the previous daemon cached", {
          inodes: pages.previous.length,
        });
      }
      announceReady({
        address: formatMountSource(source),
        init: { minor: served.init.minor, flags: String(served.init.flags) },
      });
      log.info(adopt ? 'serving an adopted FUSE connection' : 'serving', { mountPoint: dir });
      await served.closed;
      // The mount is gone: give the locks back if the MDS answers soon, else leave them to its eviction.
      await closeWithin(client, log);
      process.exit(0);
    });
}
