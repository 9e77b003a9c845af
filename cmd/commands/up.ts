// `nacre up`: a whole emulated file system on this machine — MGS, MDS, N OSS, the FSx API — mounted, until Ctrl-C.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { logger } from '../../src/lib/log.ts';
import { keepListenAddress, startRestartingChild } from '../../src/lib/restarting-child.ts';
import { onShutdown, startChild } from '../../src/lib/supervisor.ts';
import { formatSize } from '../../src/lib/units.ts';
import { formatMountSource } from '../../src/lustre/mount-source.ts';
import type { FileSystemConfig } from '../../src/lustre/protocol/mgs-messages.ts';
import {
  cachedAliasOption,
  cacheMetadataAliasOption,
  cachesData,
  cachesMetadata,
  noCacheMetadataOption,
  noCacheOption,
} from './cache-option.ts';
import { dataPlaneKeyArgs, ensureDataPlaneKeyFile } from './data-plane.ts';
import { mountForeground } from './mount.ts';
import { defaultHost, intOption, RECOVERY_HELP, recoveryOption, sizeOption } from './options.ts';
import {
  addRootSquashOptions,
  applyRootSquash,
  type RootSquashFlags,
  rootSquashFromFlags,
} from './root-squash-options.ts';

interface UpOptions extends RootSquashFlags {
  dataDir: string;
  mount: string | false;
  fsname: string;
  osts: number;
  ostSize: number;
  stripeCount: number;
  stripeSize: number;
  port: number;
  api: boolean;
  cached?: boolean;
  cache?: boolean;
  cacheMetadata?: boolean;
  s3Endpoint?: string;
  recovery: number;
}

export function registerUp(program: Command): void {
  addRootSquashOptions(program.command('up'))
    .description('run a whole emulated file system on this machine and mount it; Ctrl-C stops everything')
    .option(
      '--data-dir <dir>',
      'where the servers keep their data (found again by the next `nacre up`)',
      'nacre-data',
    )
    .option('--mount <dir>', 'where to mount the file system', 'nacre-mnt')
    .option('--no-mount', 'run the servers only')
    .option('--fsname <name>', 'file system name', 'nacre')
    .option('--osts <n>', 'object storage servers, one OST each', intOption, 4)
    .option('--ost-size <size>', 'capacity of each OST', sizeOption, sizeOption('4G'))
    .option('--stripe-count <n>', 'default stripe count of new files (-1: all OSTs)', intOption, 1)
    .option('--stripe-size <size>', 'default stripe size', sizeOption, sizeOption('1M'))
    .option(
      '--port <port>',
      'first of the loopback ports used (MGS; then MDS, OSS…, FSx API)',
      intOption,
      10988,
    )
    .option('--no-api', 'do not serve the FSx API')
    .option('--s3-endpoint <url>', 'S3 server of data repositories (path-style, e.g. MinIO); default AWS S3')
    .addOption(noCacheOption())
    .addOption(cachedAliasOption())
    .addOption(cacheMetadataAliasOption())
    .addOption(noCacheMetadataOption())
    .option(
      '--recovery <seconds|hard>',
      `${RECOVERY_HELP} (the servers restart by themselves)`,
      recoveryOption,
      120_000,
    )
    .action(async (opts: UpOptions) => {
      const tlsArgs = dataPlaneKeyArgs(program).filter((a) => a.startsWith('--tls-'));
      await up(opts, program.opts<{ dataPlaneKeyFile?: string }>().dataPlaneKeyFile, tlsArgs);
    });
}

async function up(opts: UpOptions, givenKeyFile: string | undefined, tlsArgs: string[]): Promise<void> {
  const dataDir = resolve(opts.dataDir);
  await mkdir(join(dataDir, 'logs'), { recursive: true });
  const children: { stop(): Promise<void> }[] = [];
  let unmount: (() => Promise<void>) | undefined;
  const stopAll = async () => {
    await unmount?.();
    for (const c of children.reverse()) await c.stop();
  };
  onShutdown(async (signal) => {
    process.stderr.write(`\n${signal}: unmounting and stopping the servers…\n`);
    await stopAll();
  });
  const { checkPortsFree, clearDeadMount } = await import('./up-preflight.ts');
  const preflight = AbortSignal.timeout(30_000);
  // Every server, the FSx API and the mount prove they hold this file system's key (--data-plane-key-file wins).
  const keyFile = givenKeyFile ?? (await ensureDataPlaneKeyFile(dataDir, preflight));
  const withKey = [`--data-plane-key-file=${keyFile}`, ...tlsArgs];
  if (opts.mount !== false) await clearDeadMount(resolve(opts.mount), preflight);
  // Port 0 picks free ports: nothing to check.
  if (opts.port !== 0)
    await checkPortsFree(
      [
        { port: opts.port, what: 'MGS' },
        { port: opts.port + 1, what: 'MDS' },
        ...Array.from({ length: opts.osts }, (_, i) => ({ port: opts.port + 2 + i, what: `OSS ${i}` })),
        ...(opts.api ? [{ port: opts.port + 2 + opts.osts, what: 'FSx API' }] : []),
      ],
      preflight,
    );
  try {
    // Loaded here, not at start-up: `nacre --help` stays light.
    const { roleArgs, startFileSystemServers } = await import('../../src/lustre/cluster/servers.ts');
    const { ensureFileSystem } = await import('../../src/lustre/cluster/create-file-system.ts');
    // Each child is recorded as soon as it is up, so a failure of a later one stops the earlier ones.
    // A server that dies is restarted with backoff on the same port and data, as a kubelet would.
    const { mgs } = await startFileSystemServers(
      { dataDir, ossCount: opts.osts, basePort: opts.port, host: defaultHost, unixSockets: true },
      async (spec) => {
        const args = [nacreEntry(), ...withKey, 'server', ...roleArgs(spec), '--data-dir', spec.dataDir];
        args.push('--listen', `${spec.listen.host}:${spec.listen.port}`);
        const child = await startRestartingChild({
          name: spec.name,
          command: process.execPath,
          args,
          restartArgs: keepListenAddress(args),
          logFile: join(dataDir, 'logs', `${spec.name}.log`),
          ...supervisionLog(join(dataDir, 'logs')),
        });
        children.push(child);
        return { address: child.ready.address };
      },
    );
    const mgsAddress = mgs.address;
    const withMgs = ['--mgs', mgsAddress];
    const rootSquash = rootSquashFromFlags(opts);
    const existing = await ensureFileSystem(
      mgsAddress,
      {
        fsname: opts.fsname,
        ostCount: opts.osts,
        ostCapacityBytes: opts.ostSize,
        defaultLayout: { stripeCount: opts.stripeCount, stripeSize: opts.stripeSize, stripeOffset: -1 },
        ...(rootSquash && { rootSquash }),
      },
      { ossServers: opts.osts, mdsServers: 1 },
    );
    const config = await applyRootSquash(mgsAddress, existing, rootSquash, AbortSignal.timeout(30_000));
    let api: { endpoint: string; accessKeyId: string; secretAccessKey: string } | undefined;
    if (opts.api) {
      const keys = await apiKeys(dataDir);
      const apiChild = await startChild({
        name: 'api',
        command: process.execPath,
        args: [
          nacreEntry(),
          ...withKey,
          'server',
          '--role',
          'api',
          '--data-dir',
          join(dataDir, 'api'),
        ].concat([
          '--listen',
          `127.0.0.1:${opts.port === 0 ? 0 : opts.port + 2 + opts.osts}`,
          ...withMgs,
          ...(opts.s3Endpoint ? ['--s3-endpoint', opts.s3Endpoint] : []),
        ]),
        logFile: join(dataDir, 'logs', 'api.log'),
        env: {
          ...process.env,
          NACRE_FSX_ACCESS_KEY_ID: keys.accessKeyId,
          NACRE_FSX_SECRET_ACCESS_KEY: keys.secretAccessKey,
        },
      });
      children.push(apiChild);
      api = { endpoint: apiChild.ready.address, ...keys };
    }
    const source = { mgsAddress, fsname: opts.fsname };
    let mountPoint: string | undefined;
    if (opts.mount !== false) {
      mountPoint = resolve(opts.mount);
      await mkdir(mountPoint, { recursive: true });
      const m = await mountForeground(source, mountPoint, {
        host: defaultHost(),
        readers: 8,
        recovery: opts.recovery,
        cached: cachesData(opts),
        cacheMetadata: cachesMetadata(opts),
      });
      unmount = () => m.unmount();
    }
    printSummary({ dataDir, source: formatMountSource(source), config, mountPoint, api, keyFile });
  } catch (err) {
    await stopAll();
    throw err;
  }
  await new Promise<never>(() => {});
}

async function apiKeys(dataDir: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const file = join(dataDir, 'fsx-api-credentials.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as { accessKeyId: string; secretAccessKey: string };
  } catch {
    const keys = {
      accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64url'),
    };
    await writeFile(file, JSON.stringify(keys), { mode: 0o600 });
    return keys;
  }
}

function nacreEntry(): string {
  return fileURLToPath(new URL('../nacre.ts', import.meta.url));
}

function printSummary(s: {
  dataDir: string;
  source: string;
  config: FileSystemConfig;
  mountPoint: string | undefined;
  api: { endpoint: string; accessKeyId: string; secretAccessKey: string } | undefined;
  keyFile: string;
}): void {
  const capacity = s.config.osts.reduce((n, t) => n + t.capacityBytes, 0);
  const lines = [
    `Nacre file system "${s.config.fsname}" is up: ${s.config.osts.length} OSTs, ${formatSize(capacity)}.`,
    `  source      ${s.source}`,
    s.mountPoint ? `  mounted on  ${s.mountPoint}` : '  not mounted (--no-mount)',
    `  MDT         ${s.config.mdt.target} at ${s.config.mdt.address}`,
    ...s.config.osts.map((t) => `  OST         ${t.target} at ${t.address}`),
    `  data        ${s.dataDir} (logs in ${join(s.dataDir, 'logs')})`,
    `  key         ${s.keyFile} (another mount: nacre mount --data-plane-key-file ${s.keyFile} ${s.source} <dir>)`,
  ];
  if (s.api) {
    lines.push(
      `  FSx API     ${s.api.endpoint}`,
      `              export AWS_ACCESS_KEY_ID=${s.api.accessKeyId} AWS_SECRET_ACCESS_KEY=${s.api.secretAccessKey} AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1`,
      `              aws fsx describe-file-systems --endpoint-url ${s.api.endpoint}`,
    );
  }
  lines.push('Press Ctrl-C to unmount and stop.');
  process.stdout.write(`${lines.join('\n')}\n`);
}

const supervisorLog = logger('supervisor');

/** What `nacre up` says when a server dies and comes back. */
function supervisionLog(logDir: string) {
  return {
    onExit: (e: { name: string; exit: number | string; restart: number; delayMs: number }) =>
      supervisorLog.warn(`${e.name} died (${e.exit}); restarting it in ${e.delayMs} ms`, {
        server: e.name,
        exit: e.exit,
        restart: e.restart,
        log: join(logDir, `${e.name}.log`),
      }),
    onRestarted: (e: { name: string; restart: number; ready: { address: string } }) =>
      supervisorLog.info(`${e.name} restarted`, {
        server: e.name,
        restart: e.restart,
        address: e.ready.address,
      }),
    onRestartFailed: (e: { name: string; restart: number; error: Error }) =>
      supervisorLog.warn(`${e.name} failed to restart: ${e.error.message}`, {
        server: e.name,
        restart: e.restart,
      }),
  };
}
