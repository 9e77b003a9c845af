// The FSx server (`nacre server --role api`): the Amazon FSx API for Lustre served by the emulator, its state on disk and its work resumed after a restart.
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ValidationError } from '../../lib/errors.ts';
import { logger } from '../../lib/log.ts';
import { formatTcpAddress } from '../../lustre/protocol/address.ts';
import {
  createDataRepositoryAssociation,
  deleteDataRepositoryAssociation,
  describeDataRepositoryAssociations,
  updateDataRepositoryAssociation,
} from './association-ops.ts';
import { startAutoBackups } from './backups/auto-backups.ts';
import {
  createBackup,
  createFileSystemFromBackup,
  deleteBackup,
  describeBackups,
} from './backups/backup-ops.ts';
import { ChunkBackupService, type ConnectClient } from './backups/backup-service.ts';
import { DiskBackupStore } from './backups/backup-store.ts';
import { type ApiContext, DEFAULT_LIMITS, type Limits } from './context.ts';
import {
  createFileSystem,
  deleteFileSystem,
  describeFileSystems,
  updateFileSystem,
} from './file-systems/file-system-ops.ts';
import { startHealthChecks } from './file-systems/health.ts';
import { JobRunner } from './file-systems/lifecycle.ts';
import { DEFAULT_CAPACITY_SCALE, type TargetAllocator } from './file-systems/target-allocator.ts';
import { createFsxHttpServer, type HttpOptions, type Operation } from './http/http.ts';
import { RepositoryJobRunner } from './repository-jobs.ts';
import type { DataRepositoryService } from './repository-service.ts';
import { StateStore } from './state-store.ts';
import { listTagsForResource, tagResource, untagResource } from './tag-ops.ts';
import {
  cancelDataRepositoryTask,
  createDataRepositoryTask,
  describeDataRepositoryTasks,
} from './task-ops.ts';

export type { ConnectClient } from './backups/backup-service.ts';
export type { Limits } from './context.ts';
export {
  DEFAULT_CAPACITY_SCALE,
  MgsTargetAllocator,
  type TargetAllocator,
} from './file-systems/target-allocator.ts';
export type { DataRepositoryService } from './repository-service.ts';

export interface FsxApiOptions {
  /** Directory of the API's state (fsx-api-state.json). */
  dataDir: string;
  listen: { host: string; port: number };
  /** The Region callers sign for and ARNs name, e.g. "us-east-1". */
  region: string;
  /** 12-digit account id for OwnerId and ARNs. */
  accountId: string;
  /** accessKeyId → secretAccessKey accepted for SigV4. */
  credentials: Record<string, string>;
  mgs: TargetAllocator;
  /** DNSName of every file system: the MGS address clients mount, e.g. "10.0.0.5:9400". */
  mountHost: string;
  /** Emulated bytes per FSx GiB (default 1 MiB: a 1200 GiB file system gets 1200 MiB). */
  capacityScale?: number;
  /** Where backup chunks and manifests live (default `<dataDir>/backups`). */
  backupDir?: string;
  /** Connects a client to a file system by fsname; without it, backups are unsupported. */
  connectClient?: ConnectClient;
  /** Account quotas (defaults: FSx's). */
  limits?: Partial<Limits>;
  /** How long transient MGS failures are retried before a file system becomes FAILED (default 10 min). */
  retryForMs?: number;
  /** How often automatic daily backups are checked for (default 1 min). */
  autoBackupIntervalMs?: number;
  /** How often the MGS is asked whether AVAILABLE file systems still exist (default 1 min). */
  healthIntervalMs?: number;
  /** The HSM agent that links file systems to S3; without it, data repository operations are unsupported. */
  repositories?: DataRepositoryService;
  /** Clock of timestamps and backup schedules (default Date.now); tests move it. */
  clock?: () => number;
  /** Told of every answered request (metrics); see HttpOptions. */
  onRequest?: HttpOptions['onRequest'];
}

export interface FsxApi {
  /** "http://host:port" */
  endpoint: string;
  /** Stops serving and waits for in-flight work to stop; pending work resumes at the next start. */
  close(): Promise<void>;
}

const OPERATIONS: Record<string, Operation> = {
  CreateFileSystem: createFileSystem,
  DescribeFileSystems: describeFileSystems,
  UpdateFileSystem: updateFileSystem,
  DeleteFileSystem: deleteFileSystem,
  CreateBackup: createBackup,
  DescribeBackups: describeBackups,
  DeleteBackup: deleteBackup,
  CreateFileSystemFromBackup: createFileSystemFromBackup,
  TagResource: tagResource,
  UntagResource: untagResource,
  ListTagsForResource: listTagsForResource,
  CreateDataRepositoryAssociation: createDataRepositoryAssociation,
  DescribeDataRepositoryAssociations: describeDataRepositoryAssociations,
  UpdateDataRepositoryAssociation: updateDataRepositoryAssociation,
  DeleteDataRepositoryAssociation: deleteDataRepositoryAssociation,
  CreateDataRepositoryTask: createDataRepositoryTask,
  DescribeDataRepositoryTasks: describeDataRepositoryTasks,
  CancelDataRepositoryTask: cancelDataRepositoryTask,
};

function checkOptions(opts: FsxApiOptions): void {
  if (!/^\d{12}$/.test(opts.accountId)) throw new ValidationError('accountId must be 12 digits');
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(opts.region))
    throw new ValidationError(`"${opts.region}" is not a Region name`);
  if (Object.keys(opts.credentials).length === 0)
    throw new ValidationError('at least one access key is required');
  if (opts.capacityScale !== undefined && !(opts.capacityScale > 0))
    throw new ValidationError('capacityScale must be a positive number of bytes per GiB');
  if (!opts.mountHost) throw new ValidationError('mountHost is required');
}

export async function startFsxApi(opts: FsxApiOptions): Promise<FsxApi> {
  checkOptions(opts);
  const log = logger('fsx-api');
  const store = await StateStore.open(opts.dataDir);
  const backups = opts.connectClient
    ? new ChunkBackupService(
        await DiskBackupStore.open(opts.backupDir ?? path.join(opts.dataDir, 'backups')),
        opts.connectClient,
      )
    : undefined;
  const jobs = new JobRunner({ retryForMs: opts.retryForMs ?? 10 * 60_000 });
  const repositoryJobs = new RepositoryJobRunner();
  const ctx: ApiContext = {
    store,
    region: opts.region,
    accountId: opts.accountId,
    mountHost: opts.mountHost,
    capacityScale: opts.capacityScale ?? DEFAULT_CAPACITY_SCALE,
    allocator: opts.mgs,
    backups,
    limits: { ...DEFAULT_LIMITS, ...opts.limits },
    jobs,
    repositories: opts.repositories,
    repositoryJobs,
    now: opts.clock ?? Date.now,
  };
  jobs.attach(ctx);
  repositoryJobs.attach(ctx);
  const server = createFsxHttpServer({
    ctx,
    operations: OPERATIONS,
    credentials: opts.credentials,
    ...(opts.onRequest && { onRequest: opts.onRequest }),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const endpoint = `http://${formatTcpAddress(addr.address, addr.port)}`;
  jobs.resumeAll();
  repositoryJobs.resumeAll();
  const stopAutoBackups = backups ? startAutoBackups(ctx, opts.autoBackupIntervalMs ?? 60_000) : () => {};
  const stopHealthChecks = startHealthChecks(ctx, opts.healthIntervalMs ?? 60_000);
  log.info('FSx API listening', { endpoint, region: opts.region, backups: backups !== undefined });
  return {
    endpoint,
    async close() {
      stopAutoBackups();
      stopHealthChecks();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await jobs.close();
      await repositoryJobs.close();
      await closed;
      await store.commit();
    },
  };
}
