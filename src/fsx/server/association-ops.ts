// The data repository association operations of the FSx API: Create, Describe, Update and DeleteDataRepositoryAssociation.

import type { ApiContext } from './context.ts';
import { checkTagKeys, creationKey, getFileSystem } from './file-systems/file-systems.ts';
import { FsxApiError, unsupported } from './http/api-error.ts';
import { withToken } from './http/idempotency.ts';
import { Input, RULES, readTags } from './http/input.ts';
import { paginate } from './http/pagination.ts';
import { newId } from './ids.ts';
import {
  type AssociationRecord,
  type DataRepositoryAssociation,
  EVENT_TYPES,
  type EventType,
  type RepositoryState,
  type S3DataRepositoryConfiguration,
} from './repository-model.ts';
import {
  checkNewAssociation,
  DEFAULT_CHUNK_MIB,
  formatS3Path,
  liveAssociations,
  normaliseFileSystemPath,
  parseS3Path,
} from './repository-rules.ts';

type Body = Record<string, unknown>;

/** FSx's path pattern: no NUL, NEL, line or paragraph separators, CR or LF (built from a string: the linter refuses a NUL in a literal). */
const noBreaks = (min: number, max: number) =>
  new RegExp(`^[^${String.fromCharCode(0)}\u0085\u2028\u2029\r\n]{${min},${max}}$`);

export const REPO_RULES = {
  associationId: { min: 13, max: 23, pattern: /^(dra-[0-9a-f]{8,})$/ },
  taskId: { min: 12, max: 128, pattern: /^(task-[0-9a-f]{17,})$/ },
  namespace: { min: 1, max: 4096, pattern: noBreaks(1, 4096) },
  archivePath: { min: 3, max: 4357, pattern: noBreaks(3, 4357) },
  taskPath: { min: 0, max: 4096, pattern: noBreaks(0, 4096) },
} as const;

const DRA_FILTERS = ['file-system-id', 'data-repository-type', 'file-cache-id', 'file-cache-type'] as const;

/** This feature's part of the state, created on first use. */
export function repositoryState(ctx: ApiContext): RepositoryState {
  const s = ctx.store.state;
  s.repositories ??= { associations: {}, tasks: {} };
  return s.repositories;
}

export function associationNotFound(id: string): FsxApiError {
  return new FsxApiError(
    'DataRepositoryAssociationNotFound',
    `Data repository association '${id}' does not exist.`,
  );
}

export function getAssociation(ctx: ApiContext, id: string): AssociationRecord {
  const rec = repositoryState(ctx).associations[id];
  if (!rec) throw associationNotFound(id);
  return rec;
}

function requireService(ctx: ApiContext): void {
  if (!ctx.repositories)
    throw unsupported(
      'This Nacre FSx emulator has no S3 data repository configured; start it with --s3-endpoint (or with AWS credentials for S3).',
    );
}

function readEvents(input: Input | undefined, key: string): { Events: EventType[] } | undefined {
  const policy = input?.obj(key);
  if (!policy) return undefined;
  const events = (policy.strList('Events', { maxItems: 3 }, { oneOf: EVENT_TYPES }) ?? []) as EventType[];
  return { Events: [...new Set(events)] };
}

/** Reads an S3 member (AutoImportPolicy, AutoExportPolicy). */
export function readS3Config(input: Input): S3DataRepositoryConfiguration | undefined {
  const s3 = input.obj('S3');
  if (!s3) return undefined;
  const out: S3DataRepositoryConfiguration = {};
  const imp = readEvents(s3, 'AutoImportPolicy');
  const exp = readEvents(s3, 'AutoExportPolicy');
  if (imp) out.AutoImportPolicy = imp;
  if (exp) out.AutoExportPolicy = exp;
  return out;
}

export function describeAssociation(d: DataRepositoryAssociation): DataRepositoryAssociation {
  const out = structuredClone(d);
  // FSx reports the path as given, with a trailing slash on the S3 side only.
  return out;
}

export async function createDataRepositoryAssociation(ctx: ApiContext, body: Body): Promise<unknown> {
  const input = new Input(body);
  const fsId = input.str('FileSystemId', { required: true, ...RULES.fileSystemId })!;
  const rawPath = input.str('FileSystemPath', REPO_RULES.namespace);
  const repoPath = input.str('DataRepositoryPath', { required: true, ...REPO_RULES.archivePath })!;
  const batch = input.bool('BatchImportMetaDataOnCreate') ?? false;
  const chunk = input.int('ImportedFileChunkSize', { min: 1, max: 512_000 }) ?? DEFAULT_CHUNK_MIB;
  const s3 = readS3Config(input);
  const token = input.str('ClientRequestToken', RULES.clientRequestToken);
  const tags = readTags(input) ?? [];
  checkTagKeys(tags);
  requireService(ctx);
  const fs = getFileSystem(ctx, fsId);
  if (rawPath === undefined)
    throw new FsxApiError(
      'BadRequest',
      'FileSystemPath is required for a data repository association of a Lustre file system.',
    );
  const path = normaliseFileSystemPath(rawPath);
  const repo = parseS3Path(repoPath);
  const state = repositoryState(ctx);
  const { response, fresh } = withToken(
    ctx,
    'CreateDataRepositoryAssociation',
    body,
    token,
    (id) => ({ Association: describeAssociation(getAssociation(ctx, id).dra) }),
    () => {
      checkNewAssociation(fs, liveAssociations(state.associations, fsId), path, repo);
      const id = newId('dra');
      const dra: DataRepositoryAssociation = {
        AssociationId: id,
        ResourceARN: `arn:aws:fsx:${ctx.region}:${ctx.accountId}:association/${fsId}/${id}`,
        FileSystemId: fsId,
        Lifecycle: 'CREATING',
        FileSystemPath: path,
        DataRepositoryPath: formatS3Path(repo),
        BatchImportMetaDataOnCreate: batch,
        ImportedFileChunkSize: chunk,
        Tags: tags,
        CreationTime: ctx.now() / 1000,
      };
      if (s3) dra.S3 = s3;
      state.associations[id] = { dra, job: { kind: 'create' } };
      return { resourceId: id, response: { Association: describeAssociation(dra) } };
    },
  );
  await ctx.store.commit();
  if (fresh) ctx.repositoryJobs.kickAssociation(response.Association.AssociationId);
  return response;
}

export async function describeDataRepositoryAssociations(ctx: ApiContext, body: Body): Promise<unknown> {
  const input = new Input(body);
  const ids = input.strList('AssociationIds', { maxItems: 50 }, REPO_RULES.associationId);
  const filters = input.objList('Filters', { maxItems: 10 })?.map((f) => ({
    name: f.str('Name', { oneOf: DRA_FILTERS }),
    values: f.strList('Values', { maxItems: 20 }, RULES.filterValue) ?? [],
  }));
  const max = input.int('MaxResults', { min: 1, max: 25 });
  const token = input.str('NextToken', RULES.nextToken);
  const all = repositoryState(ctx).associations;
  let items: DataRepositoryAssociation[];
  if (ids) items = [...new Set(ids)].map((id) => getAssociation(ctx, id).dra);
  else
    items = Object.values(all)
      .filter((r) => !r.legacyExportPath)
      .map((r) => r.dra);
  for (const f of filters ?? []) {
    if (f.name === 'file-system-id') {
      for (const v of f.values)
        if (!ctx.store.state.fileSystems[v] && !items.some((d) => d.FileSystemId === v))
          getFileSystem(ctx, v);
      items = items.filter((d) => f.values.includes(d.FileSystemId));
    } else if (f.name === 'data-repository-type') {
      const bad = f.values.find((v) => v !== 'S3' && v !== 'NFS');
      if (bad)
        throw new FsxApiError(
          'InvalidDataRepositoryType',
          `'${bad}' is not a data repository type; use S3 or NFS.`,
        );
      if (!f.values.includes('S3')) items = [];
    } else if (f.name === 'file-cache-id' || f.name === 'file-cache-type') items = [];
  }
  const key = (d: DataRepositoryAssociation) => creationKey(d.CreationTime, d.AssociationId);
  items.sort((a, b) => (key(a) < key(b) ? -1 : 1));
  const { page, nextToken } = paginate(items, key, max, token);
  return { Associations: page.map(describeAssociation), ...(nextToken ? { NextToken: nextToken } : {}) };
}

export async function updateDataRepositoryAssociation(ctx: ApiContext, body: Body): Promise<unknown> {
  const input = new Input(body);
  const id = input.str('AssociationId', { required: true, ...REPO_RULES.associationId })!;
  const token = input.str('ClientRequestToken', RULES.clientRequestToken);
  const chunk = input.int('ImportedFileChunkSize', { min: 1, max: 512_000 });
  const s3 = readS3Config(input);
  const rec = getAssociation(ctx, id);
  const { response, fresh } = withToken(
    ctx,
    'UpdateDataRepositoryAssociation',
    body,
    token,
    () => ({ Association: describeAssociation(rec.dra) }),
    () => {
      const l = rec.dra.Lifecycle;
      if (l !== 'AVAILABLE' && l !== 'MISCONFIGURED')
        throw new FsxApiError(
          'BadRequest',
          `Data repository association ${id} is ${l}; it can be updated only when AVAILABLE or MISCONFIGURED.`,
        );
      if (chunk === undefined && s3 === undefined)
        throw new FsxApiError(
          'BadRequest',
          'Give ImportedFileChunkSize or S3 to update a data repository association.',
        );
      if (chunk !== undefined) rec.dra.ImportedFileChunkSize = chunk;
      if (s3 !== undefined) {
        rec.dra.S3 = { ...rec.dra.S3, ...s3 };
      }
      rec.dra.Lifecycle = 'UPDATING';
      rec.job = { kind: 'update' };
      return { resourceId: id, response: { Association: describeAssociation(rec.dra) } };
    },
  );
  await ctx.store.commit();
  if (fresh) ctx.repositoryJobs.kickAssociation(id);
  return response;
}

export async function deleteDataRepositoryAssociation(ctx: ApiContext, body: Body): Promise<unknown> {
  const input = new Input(body);
  const id = input.str('AssociationId', { required: true, ...REPO_RULES.associationId })!;
  const token = input.str('ClientRequestToken', RULES.clientRequestToken);
  const deleteData = input.bool('DeleteDataInFileSystem') ?? false;
  const reply = { AssociationId: id, Lifecycle: 'DELETING', DeleteDataInFileSystem: deleteData };
  const { response, fresh } = withToken(
    ctx,
    'DeleteDataRepositoryAssociation',
    body,
    token,
    () => reply,
    () => {
      const rec = getAssociation(ctx, id);
      if (rec.dra.Lifecycle === 'DELETING') {
        if (rec.job?.kind === 'delete' && rec.job.deleteData !== deleteData)
          throw new FsxApiError(
            'IncompatibleParameterError',
            `Data repository association ${id} is already being deleted with DeleteDataInFileSystem=${String(rec.job.deleteData)}.`,
            { fields: { Parameter: 'DeleteDataInFileSystem' } },
          );
        return { resourceId: id, response: reply };
      }
      if (rec.dra.Lifecycle === 'CREATING' || rec.dra.Lifecycle === 'UPDATING')
        throw new FsxApiError(
          'BadRequest',
          `Data repository association ${id} is ${rec.dra.Lifecycle}; delete it once that completes.`,
        );
      rec.dra.Lifecycle = 'DELETING';
      rec.job = { kind: 'delete', deleteData };
      return { resourceId: id, response: reply };
    },
  );
  await ctx.store.commit();
  if (fresh) ctx.repositoryJobs.kickAssociation(id);
  return response;
}
