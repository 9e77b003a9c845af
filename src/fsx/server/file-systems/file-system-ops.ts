// The file system operations of the FSx API: CreateFileSystem, DescribeFileSystems, UpdateFileSystem, DeleteFileSystem.

import { addBackup } from '../backups/backups.ts';
import type { ApiContext } from '../context.ts';
import {
  badRequest,
  FsxApiError,
  fileSystemNotFound,
  incompatibleParameter,
  unsupported,
} from '../http/api-error.ts';
import { withToken } from '../http/idempotency.ts';
import { Input, RULES, readTags } from '../http/input.ts';
import { paginate } from '../http/pagination.ts';
import { type FileSystem, type FileSystemRecord, STORAGE_TYPES, type StorageType } from '../model.ts';
import {
  addFileSystem,
  checkFileSystemLimits,
  checkTagKeys,
  creationKey,
  describe,
  getFileSystem,
} from './file-systems.ts';
import { readLustreCreate, readLustreUpdate } from './lustre-config.ts';
import { checkCreate, checkUpdate } from './lustre-rules.ts';
import { pushRootSquash } from './root-squash.ts';
import { ostCapacityBytes, ostCountFor } from './target-allocator.ts';
import { applySettings, hasSettings } from './update-settings.ts';

type Body = Record<string, unknown>;

const OTHER_CONFIGS = ['WindowsConfiguration', 'OntapConfiguration', 'OpenZFSConfiguration'] as const;

function refuseOtherConfigs(input: Input): void {
  for (const c of OTHER_CONFIGS)
    if (input.has(c)) throw incompatibleParameter(c, `${c} cannot be used with a Lustre file system.`);
}

/** One subnet, as every Lustre deployment type takes. */
export function checkSubnets(subnets: string[]): void {
  if (subnets.length !== 1)
    throw new FsxApiError(
      'InvalidNetworkSettings',
      `Lustre file systems take exactly one subnet ID; ${subnets.length} were given.`,
      subnets[1] ? { fields: { InvalidSubnetId: subnets[1] } } : {},
    );
}

export async function createFileSystem(ctx: ApiContext, body: Body): Promise<unknown> {
  const input = new Input(body);
  const token = input.str('ClientRequestToken', RULES.clientRequestToken);
  const type = input.str('FileSystemType', {
    required: true,
    oneOf: ['WINDOWS', 'LUSTRE', 'ONTAP', 'OPENZFS'],
  });
  const capacity = input.int('StorageCapacity', { min: 0, max: 2_147_483_647 });
  const storageType = (input.str('StorageType', { oneOf: STORAGE_TYPES }) ?? 'SSD') as StorageType;
  const subnets = input.strList('SubnetIds', { required: true, maxItems: 50 }, RULES.subnetId)!;
  input.strList('SecurityGroupIds', { maxItems: 50 }, RULES.securityGroupId);
  const tags = readTags(input) ?? [];
  const kms = input.str('KmsKeyId', RULES.kmsKeyId);
  const version = input.str('FileSystemTypeVersion', RULES.fileSystemTypeVersion);
  const network = input.str('NetworkType', { oneOf: ['IPV4', 'DUAL'] });
  const lustre = readLustreCreate(input.obj('LustreConfiguration'));
  if (type !== 'LUSTRE')
    throw unsupported(`The Nacre FSx emulator provides Lustre file systems only, not ${type}.`);
  refuseOtherConfigs(input);
  if (network === 'DUAL')
    throw incompatibleParameter('NetworkType', 'Lustre file systems support IPV4 only.');
  checkSubnets(subnets);
  checkTagKeys(tags);
  const checked = checkCreate({
    StorageCapacity: capacity,
    StorageType: storageType,
    KmsKeyId: kms,
    FileSystemTypeVersion: version,
    lustre,
    region: ctx.region,
    accountId: ctx.accountId,
    linkable: ctx.repositories !== undefined,
  });
  const { response, fresh } = withToken(
    ctx,
    'CreateFileSystem',
    body,
    token,
    (id) => ({ FileSystem: describe(getFileSystem(ctx, id).fs) }),
    () => {
      checkFileSystemLimits(ctx, capacity!, true);
      const rec = addFileSystem(
        ctx,
        {
          StorageCapacity: capacity!,
          StorageType: storageType,
          SubnetIds: subnets,
          KmsKeyId: kms,
          Tags: tags,
          FileSystemTypeVersion: checked.version,
          DeploymentType: checked.deployment,
          lustre,
        },
        { kind: 'create' },
      );
      return { resourceId: rec.fs.FileSystemId, response: { FileSystem: describe(rec.fs) } };
    },
  );
  await ctx.store.commit();
  if (fresh) ctx.jobs.kickFileSystem(response.FileSystem.FileSystemId);
  return response;
}

export async function describeFileSystems(ctx: ApiContext, body: Body): Promise<unknown> {
  const input = new Input(body);
  const ids = input.strList('FileSystemIds', { maxItems: 50 }, RULES.fileSystemId);
  const max = input.int('MaxResults', { min: 1, max: 2_147_483_647 });
  const token = input.str('NextToken', RULES.nextToken);
  const all = ctx.store.state.fileSystems;
  let items: FileSystem[];
  if (ids) {
    const missing = ids.find((id) => !all[id]);
    if (missing) throw fileSystemNotFound(missing);
    items = [...new Set(ids)].map((id) => all[id]!.fs);
  } else items = Object.values(all).map((r) => r.fs);
  const key = (fs: FileSystem) => creationKey(fs.CreationTime, fs.FileSystemId);
  items.sort((a, b) => (key(a) < key(b) ? -1 : 1));
  const { page, nextToken } = paginate(items, key, max, token);
  return { FileSystems: page.map(describe), ...(nextToken ? { NextToken: nextToken } : {}) };
}

export async function updateFileSystem(ctx: ApiContext, body: Body): Promise<unknown> {
  const input = new Input(body);
  const id = input.str('FileSystemId', { required: true, ...RULES.fileSystemId })!;
  const token = input.str('ClientRequestToken', RULES.clientRequestToken);
  const capacity = input.int('StorageCapacity', { min: 0, max: 2_147_483_647 });
  const version = input.str('FileSystemTypeVersion', RULES.fileSystemTypeVersion);
  input.str('StorageType', { oneOf: STORAGE_TYPES });
  input.str('NetworkType', { oneOf: ['IPV4', 'DUAL'] });
  const lustre = readLustreUpdate(input.obj('LustreConfiguration'));
  refuseOtherConfigs(input);
  if (input.has('StorageType'))
    throw badRequest('The StorageType of a Lustre file system cannot be changed.');
  if (input.has('NetworkType'))
    throw badRequest('The NetworkType of a Lustre file system cannot be changed.');
  const rec = getFileSystem(ctx, id);
  const { response, fresh } = withToken(
    ctx,
    'UpdateFileSystem',
    body,
    token,
    () => ({ FileSystem: describe(getFileSystem(ctx, id).fs) }),
    () => {
      checkUpdatable(rec, capacity !== undefined);
      checkUpdate(
        rec.fs,
        { StorageCapacity: capacity, FileSystemTypeVersion: version, lustre },
        ctx.region,
        ctx.accountId,
      );
      if (capacity === undefined && version === undefined && !hasSettings(lustre))
        throw badRequest('The request specifies no change to the file system.');
      if (capacity !== undefined) {
        checkFileSystemLimits(ctx, capacity - rec.fs.StorageCapacity, false);
        startGrowth(ctx, rec, capacity);
      }
      if (version !== undefined || hasSettings(lustre)) applySettings(rec.fs, lustre, version, ctx);
      return { resourceId: id, response: { FileSystem: describe(rec.fs) } };
    },
  );
  await ctx.store.commit();
  if (fresh && capacity !== undefined) ctx.jobs.kickFileSystem(id);
  if (fresh && lustre.RootSquashConfiguration !== undefined) await pushRootSquash(ctx, rec.fs);
  return response;
}

function checkUpdatable(rec: FileSystemRecord, capacity: boolean): void {
  const fs = rec.fs;
  const optimizing = fs.AdministrativeActions?.some(
    (a) => a.AdministrativeActionType === 'STORAGE_OPTIMIZATION' && a.Status === 'IN_PROGRESS',
  );
  if (capacity && (rec.job?.kind === 'grow' || optimizing))
    throw badRequest(
      "You can't make a storage capacity increase request while a previous storage capacity increase is in progress.",
    );
  if (fs.Lifecycle !== 'AVAILABLE')
    throw badRequest(
      `File system ${fs.FileSystemId} is ${fs.Lifecycle}; it can only be updated when AVAILABLE.`,
    );
}

function startGrowth(ctx: ApiContext, rec: FileSystemRecord, capacity: number): void {
  const fs = rec.fs;
  const fromOstCount = Math.max(rec.ostCount, ostCountFor(fs.StorageCapacity));
  const addCount = Math.max(1, ostCountFor(capacity) - fromOstCount);
  rec.job = {
    kind: 'grow',
    fromOstCount,
    addCount,
    ostCapacityBytes: ostCapacityBytes(capacity - fs.StorageCapacity, addCount, ctx.capacityScale),
    toCapacity: capacity,
  };
  fs.Lifecycle = 'UPDATING';
  fs.AdministrativeActions = [
    ...(fs.AdministrativeActions ?? []).slice(-19),
    {
      AdministrativeActionType: 'FILE_SYSTEM_UPDATE',
      RequestTime: ctx.now() / 1000,
      Status: 'IN_PROGRESS',
      ProgressPercent: 0,
      TargetFileSystemValues: { StorageCapacity: capacity },
    },
  ];
}

export async function deleteFileSystem(ctx: ApiContext, body: Body): Promise<unknown> {
  const input = new Input(body);
  const id = input.str('FileSystemId', { required: true, ...RULES.fileSystemId })!;
  const token = input.str('ClientRequestToken', RULES.clientRequestToken);
  const lc = input.obj('LustreConfiguration');
  const skip = lc?.bool('SkipFinalBackup') ?? true;
  const finalTags = lc ? readTags(lc, 'FinalBackupTags') : undefined;
  for (const c of ['WindowsConfiguration', 'OpenZFSConfiguration'])
    if (input.has(c)) throw incompatibleParameter(c, `${c} cannot be used with a Lustre file system.`);
  const { response, fresh } = withToken(
    ctx,
    'DeleteFileSystem',
    body,
    token,
    () => deletingResponse(ctx, ctx.store.state.fileSystems[id]?.job, id),
    () => {
      const rec = getFileSystem(ctx, id);
      if (rec.fs.Lifecycle === 'DELETING')
        return { resourceId: id, response: deletingResponse(ctx, rec.job, id) };
      checkDeletable(ctx, rec, skip, finalTags !== undefined);
      checkTagKeys(finalTags);
      let finalBackupId: string | undefined;
      if (!skip) {
        const tags = finalTags ?? (rec.fs.LustreConfiguration.CopyTagsToBackups ? rec.fs.Tags : []);
        finalBackupId = addBackup(ctx, rec, tags, 'USER_INITIATED').backup.BackupId;
      }
      rec.fs.Lifecycle = 'DELETING';
      delete rec.fs.FailureDetails;
      rec.job = finalBackupId ? { kind: 'delete', finalBackupId } : { kind: 'delete' };
      delete rec.jobSince;
      return { resourceId: id, response: deletingResponse(ctx, rec.job, id) };
    },
  );
  await ctx.store.commit();
  if (fresh) ctx.jobs.kickFileSystem(id);
  return response;
}

function deletingResponse(ctx: ApiContext, job: FileSystemRecord['job'], id: string): unknown {
  const finalBackupId = job?.kind === 'delete' ? job.finalBackupId : undefined;
  const tags = finalBackupId ? ctx.store.state.backups[finalBackupId]?.backup.Tags : undefined;
  return {
    FileSystemId: id,
    Lifecycle: 'DELETING',
    ...(finalBackupId
      ? {
          LustreResponse: {
            FinalBackupId: finalBackupId,
            ...(tags?.length ? { FinalBackupTags: tags } : {}),
          },
        }
      : {}),
  };
}

function checkDeletable(ctx: ApiContext, rec: FileSystemRecord, skip: boolean, finalTags: boolean): void {
  const fs = rec.fs;
  if (fs.Lifecycle === 'CREATING' || fs.Lifecycle === 'UPDATING')
    throw badRequest(`File system ${fs.FileSystemId} is ${fs.Lifecycle} and cannot be deleted now.`);
  if (skip && finalTags)
    throw badRequest('FinalBackupTags can only be specified when SkipFinalBackup is false.');
  const busy = Object.values(ctx.store.state.backups).some(
    (b) => b.backup.FileSystem.FileSystemId === fs.FileSystemId && b.backup.Lifecycle === 'CREATING',
  );
  if (busy)
    throw badRequest(
      `A backup of file system ${fs.FileSystemId} is in progress; delete it when it has finished.`,
    );
  if (skip) return;
  if (fs.LustreConfiguration.DeploymentType.startsWith('SCRATCH'))
    throw badRequest(
      'Final backups are not supported for SCRATCH file systems; set SkipFinalBackup to true.',
    );
  if (fs.Lifecycle !== 'AVAILABLE')
    throw badRequest(`A final backup needs an AVAILABLE file system; ${fs.FileSystemId} is ${fs.Lifecycle}.`);
  if (!ctx.backups) throw unsupported('Backups are not configured on this Nacre FSx emulator.');
}
