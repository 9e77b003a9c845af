// The backup operations of the FSx API: CreateBackup, DescribeBackups, DeleteBackup, CreateFileSystemFromBackup.

import type { ApiContext } from '../context.ts';
import { checkSubnets } from '../file-systems/file-system-ops.ts';
import {
  addFileSystem,
  checkFileSystemLimits,
  checkTagKeys,
  creationKey,
  describe,
  getFileSystem,
} from '../file-systems/file-systems.ts';
import { type LustreCreateInput, readLustreCreate } from '../file-systems/lustre-config.ts';
import { checkCreate } from '../file-systems/lustre-rules.ts';
import {
  badRequest,
  FsxApiError,
  incompatibleParameter,
  serviceLimit,
  unsupported,
} from '../http/api-error.ts';
import { withToken } from '../http/idempotency.ts';
import { Input, RULES, readTags, type Tag } from '../http/input.ts';
import { paginate } from '../http/pagination.ts';
import {
  type Backup,
  type BackupRecord,
  type FileSystemRecord,
  STORAGE_TYPES,
  type StorageType,
} from '../model.ts';
import { addBackup, getBackup, settingsOf } from './backups.ts';

type Body = Record<string, unknown>;

const FILTER_NAMES = [
  'file-system-id',
  'file-system-type',
  'storage-virtual-machine-id',
  'volume-id',
  'data-repository-type',
  'file-cache-id',
  'file-cache-type',
  'backup-type',
] as const;

function describeBackup(b: Backup): Backup {
  return structuredClone(b);
}

export async function createBackup(ctx: ApiContext, body: Body): Promise<unknown> {
  const input = new Input(body);
  const fsId = input.str('FileSystemId', RULES.fileSystemId);
  const token = input.str('ClientRequestToken', RULES.clientRequestToken);
  const tags = readTags(input);
  if (input.has('VolumeId')) throw unsupported('The Nacre FSx emulator has no volumes to back up.');
  if (fsId === undefined) throw badRequest('FileSystemId is required to back up a Lustre file system.');
  const fs = getFileSystem(ctx, fsId);
  const { response, fresh } = withToken(
    ctx,
    'CreateBackup',
    body,
    token,
    (id) => ({ Backup: describeBackup(getBackup(ctx, id).backup) }),
    () => {
      const d = fs.fs.LustreConfiguration.DeploymentType;
      if (d.startsWith('SCRATCH')) throw badRequest(`Backups are not supported for ${d} file systems.`);
      if (fs.fs.Lifecycle !== 'AVAILABLE')
        throw badRequest(`File system ${fsId} is ${fs.fs.Lifecycle}; backups need an AVAILABLE file system.`);
      if (!ctx.backups) throw unsupported('Backups are not configured on this Nacre FSx emulator.');
      const all = Object.values(ctx.store.state.backups);
      if (all.some((b) => b.backup.FileSystem.FileSystemId === fsId && b.backup.Lifecycle === 'CREATING'))
        throw new FsxApiError(
          'BackupInProgress',
          `Another backup of file system ${fsId} is already in progress.`,
        );
      const userBackups = all.filter((b) => b.backup.Type === 'USER_INITIATED').length;
      if (userBackups >= ctx.limits.userInitiatedBackups)
        throw serviceLimit(
          'TOTAL_USER_INITIATED_BACKUPS',
          `You have reached the limit of ${ctx.limits.userInitiatedBackups} user-initiated backups.`,
        );
      checkTagKeys(tags);
      const rec = addBackup(
        ctx,
        fs,
        tags ?? (fs.fs.LustreConfiguration.CopyTagsToBackups ? fs.fs.Tags : []),
        'USER_INITIATED',
      );
      return { resourceId: rec.backup.BackupId, response: { Backup: describeBackup(rec.backup) } };
    },
  );
  await ctx.store.commit();
  if (fresh) void ctx.jobs.runBackup(response.Backup.BackupId);
  return response;
}

export async function describeBackups(ctx: ApiContext, body: Body): Promise<unknown> {
  const input = new Input(body);
  const ids = input.strList('BackupIds', { maxItems: 50 }, RULES.backupId);
  const filters = input.objList('Filters', { maxItems: 10 })?.map((f) => ({
    name: f.str('Name', { oneOf: FILTER_NAMES }) as (typeof FILTER_NAMES)[number] | undefined,
    values: f.strList('Values', { maxItems: 20 }, RULES.filterValue) ?? [],
  }));
  const max = input.int('MaxResults', { min: 1, max: 2_147_483_647 });
  const token = input.str('NextToken', RULES.nextToken);
  const all = ctx.store.state.backups;
  let items: Backup[];
  if (ids) {
    const missing = ids.find((id) => !all[id]);
    if (missing) getBackup(ctx, missing);
    items = [...new Set(ids)].map((id) => all[id]!.backup);
  } else items = Object.values(all).map((r) => r.backup);
  for (const f of filters ?? []) {
    if (!f.name) continue;
    items = items.filter((b) => f.values.includes(filterValue(b, f.name!) ?? ''));
  }
  const key = (b: Backup) => creationKey(b.CreationTime, b.BackupId);
  items.sort((a, b) => (key(a) < key(b) ? -1 : 1));
  const { page, nextToken } = paginate(items, key, max, token);
  return { Backups: page.map(describeBackup), ...(nextToken ? { NextToken: nextToken } : {}) };
}

function filterValue(b: Backup, name: (typeof FILTER_NAMES)[number]): string | undefined {
  if (name === 'file-system-id') return b.FileSystem.FileSystemId;
  if (name === 'backup-type') return b.Type;
  if (name === 'file-system-type') return b.FileSystem.FileSystemType;
  return undefined;
}

export async function deleteBackup(ctx: ApiContext, body: Body): Promise<unknown> {
  const input = new Input(body);
  const id = input.str('BackupId', { required: true, ...RULES.backupId })!;
  const token = input.str('ClientRequestToken', RULES.clientRequestToken);
  const { response, fresh } = withToken(
    ctx,
    'DeleteBackup',
    body,
    token,
    () => ({ BackupId: id, Lifecycle: 'DELETED' }),
    () => {
      const rec = getBackup(ctx, id);
      if (rec.backup.Lifecycle === 'CREATING')
        throw new FsxApiError(
          'BackupInProgress',
          `Backup ${id} is still being created and cannot be deleted yet.`,
        );
      if (rec.restoring?.length)
        throw new FsxApiError('BackupRestoring', `Backup ${id} is being restored to ${rec.restoring[0]}.`, {
          fields: { FileSystemId: rec.restoring[0] },
        });
      delete ctx.store.state.backups[id];
      return { resourceId: id, response: { BackupId: id, Lifecycle: 'DELETED' } };
    },
  );
  await ctx.store.commit();
  if (fresh) await ctx.backups?.delete(id);
  return response;
}

interface RestoreRequest {
  backupId: string;
  subnets: string[];
  tags: Tag[];
  lustre: LustreCreateInput;
  storageType: StorageType | undefined;
  kms: string | undefined;
  version: string | undefined;
  capacity: number | undefined;
}

export async function createFileSystemFromBackup(ctx: ApiContext, body: Body): Promise<unknown> {
  const input = new Input(body);
  const token = input.str('ClientRequestToken', RULES.clientRequestToken);
  const req: RestoreRequest = {
    backupId: input.str('BackupId', { required: true, ...RULES.backupId })!,
    subnets: input.strList('SubnetIds', { required: true, maxItems: 50 }, RULES.subnetId)!,
    tags: readTags(input) ?? [],
    lustre: readLustreCreate(input.obj('LustreConfiguration')),
    storageType: input.str('StorageType', { oneOf: STORAGE_TYPES }) as StorageType | undefined,
    kms: input.str('KmsKeyId', RULES.kmsKeyId),
    version: input.str('FileSystemTypeVersion', RULES.fileSystemTypeVersion),
    capacity: input.int('StorageCapacity', { min: 0, max: 2_147_483_647 }),
  };
  input.strList('SecurityGroupIds', { maxItems: 50 }, RULES.securityGroupId);
  for (const c of ['WindowsConfiguration', 'OpenZFSConfiguration'])
    if (input.has(c)) throw incompatibleParameter(c, `${c} cannot be used with a Lustre backup.`);
  checkSubnets(req.subnets);
  checkTagKeys(req.tags);
  const rec = getBackup(ctx, req.backupId);
  const { response, fresh } = withToken(
    ctx,
    'CreateFileSystemFromBackup',
    body,
    token,
    (id) => ({ FileSystem: describe(getFileSystem(ctx, id).fs) }),
    () => {
      const fs = startRestore(ctx, rec, req);
      return { resourceId: fs.fs.FileSystemId, response: { FileSystem: describe(fs.fs) } };
    },
  );
  await ctx.store.commit();
  if (fresh) ctx.jobs.kickFileSystem(response.FileSystem.FileSystemId);
  return response;
}

/** Checks a restore against its backup and adds the new file system, CREATING with a restore job. */
function startRestore(ctx: ApiContext, rec: BackupRecord, req: RestoreRequest): FileSystemRecord {
  const src = rec.backup.FileSystem;
  const srcDeployment = src.LustreConfiguration.DeploymentType;
  if (rec.backup.Lifecycle !== 'AVAILABLE')
    throw badRequest(
      `Backup ${req.backupId} is ${rec.backup.Lifecycle}; only AVAILABLE backups can be restored.`,
    );
  if (!ctx.backups) throw unsupported('Backups are not configured on this Nacre FSx emulator.');
  if ((req.lustre.DeploymentType ?? srcDeployment) !== srcDeployment)
    throw badRequest(`The DeploymentType must be that of the backup (${srcDeployment}).`);
  if (req.storageType !== undefined && req.storageType !== src.StorageType)
    throw badRequest(`The StorageType must be that of the backup (${src.StorageType}).`);
  if (req.capacity !== undefined && req.capacity !== src.StorageCapacity)
    throw badRequest(`The StorageCapacity must be that of the backup (${src.StorageCapacity} GiB).`);
  const merged = { ...settingsOf(src.LustreConfiguration), ...req.lustre };
  const checked = checkCreate({
    StorageCapacity: src.StorageCapacity,
    StorageType: src.StorageType,
    KmsKeyId: req.kms,
    FileSystemTypeVersion: req.version ?? src.FileSystemTypeVersion,
    lustre: merged,
    region: ctx.region,
    accountId: ctx.accountId,
  });
  checkFileSystemLimits(ctx, src.StorageCapacity, true);
  const fs = addFileSystem(
    ctx,
    {
      StorageCapacity: src.StorageCapacity,
      StorageType: src.StorageType,
      SubnetIds: req.subnets,
      KmsKeyId: req.kms ?? src.KmsKeyId,
      Tags: req.tags,
      FileSystemTypeVersion: checked.version,
      DeploymentType: checked.deployment,
      lustre: merged,
    },
    { kind: 'restore', backupId: req.backupId },
  );
  rec.restoring = [...(rec.restoring ?? []), fs.fs.FileSystemId];
  return fs;
}
