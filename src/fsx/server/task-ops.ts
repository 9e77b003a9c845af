// The data repository task operations of the FSx API: CreateDataRepositoryTask, DescribeDataRepositoryTasks, CancelDataRepositoryTask.

import { REPO_RULES, repositoryState } from './association-ops.ts';
import type { ApiContext } from './context.ts';
import { checkTagKeys, creationKey, getFileSystem } from './file-systems/file-systems.ts';
import { FsxApiError, incompatibleParameter, unsupported } from './http/api-error.ts';
import { withToken } from './http/idempotency.ts';
import { Input, RULES, readTags } from './http/input.ts';
import { paginate } from './http/pagination.ts';
import { newId } from './ids.ts';
import {
  type CompletionReport,
  type DataRepositoryTask,
  TASK_TYPES,
  type TaskRecord,
  type TaskType,
  TERMINAL_TASK,
} from './repository-model.ts';
import { parseS3Path } from './repository-rules.ts';

type Body = Record<string, unknown>;

const TASK_FILTERS = [
  'file-system-id',
  'task-lifecycle',
  'data-repository-association-id',
  'file-cache-id',
] as const;

export function taskNotFound(id: string): FsxApiError {
  return new FsxApiError('DataRepositoryTaskNotFound', `Data repository task '${id}' does not exist.`);
}

function readReport(input: Input): CompletionReport {
  const r = input.obj('Report', true)!;
  const report: CompletionReport = { Enabled: r.bool('Enabled') ?? (undefined as never) };
  if (typeof report.Enabled !== 'boolean')
    throw new FsxApiError(
      'ValidationException',
      "1 validation error detected: Value null at 'report.enabled' failed to satisfy constraint: Member must not be null",
    );
  const path = r.str('Path', REPO_RULES.archivePath);
  const format = r.str('Format', { oneOf: ['REPORT_CSV_20191124'] });
  const scope = r.str('Scope', { oneOf: ['FAILED_FILES_ONLY'] });
  if (path !== undefined) report.Path = path;
  if (format !== undefined) report.Format = 'REPORT_CSV_20191124';
  if (scope !== undefined) report.Scope = 'FAILED_FILES_ONLY';
  if (report.Enabled) {
    for (const [k, v] of [
      ['Path', path],
      ['Format', format],
      ['Scope', scope],
    ] as const)
      if (v === undefined)
        throw new FsxApiError('BadRequest', `Report.${k} is required when the completion report is enabled.`);
  }
  return report;
}

export async function createDataRepositoryTask(ctx: ApiContext, body: Body): Promise<unknown> {
  const input = new Input(body);
  const type = input.str('Type', { required: true, oneOf: TASK_TYPES }) as TaskType;
  const paths = input.strList('Paths', { maxItems: 100 }, REPO_RULES.taskPath);
  const fsId = input.str('FileSystemId', { required: true, ...RULES.fileSystemId })!;
  const report = readReport(input);
  const token = input.str('ClientRequestToken', RULES.clientRequestToken);
  const tags = readTags(input) ?? [];
  const capacity = input.int('CapacityToRelease', { min: 1, max: Number.MAX_SAFE_INTEGER });
  const release = input.obj('ReleaseConfiguration')?.obj('DurationSinceLastAccess');
  const unit = release?.str('Unit', { oneOf: ['DAYS'] });
  const days = release?.int('Value', { min: 0, max: Number.MAX_SAFE_INTEGER });
  checkTagKeys(tags);
  if (type === 'AUTO_RELEASE_DATA')
    throw unsupported('AUTO_RELEASE_DATA tasks are run by Amazon File Cache only.');
  if (capacity !== undefined)
    throw incompatibleParameter(
      'CapacityToRelease',
      'CapacityToRelease applies to Amazon File Cache AUTO_RELEASE_DATA tasks only.',
    );
  if (release && type !== 'RELEASE_DATA_FROM_FILESYSTEM')
    throw incompatibleParameter(
      'ReleaseConfiguration',
      'ReleaseConfiguration applies to RELEASE_DATA_FROM_FILESYSTEM tasks only.',
    );
  const fs = getFileSystem(ctx, fsId);
  const state = repositoryState(ctx);
  const { response, fresh } = withToken(
    ctx,
    'CreateDataRepositoryTask',
    body,
    token,
    (id) => ({ DataRepositoryTask: structuredClone(getTask(ctx, id).task) }),
    () => {
      if (fs.fs.Lifecycle !== 'AVAILABLE' && fs.fs.Lifecycle !== 'UPDATING')
        throw new FsxApiError(
          'BadRequest',
          `File system ${fsId} is ${fs.fs.Lifecycle}; it must be AVAILABLE.`,
        );
      const linked = Object.values(state.associations).filter(
        (a) => a.dra.FileSystemId === fsId && a.dra.Lifecycle === 'AVAILABLE',
      );
      if (linked.length === 0)
        throw new FsxApiError(
          'BadRequest',
          `File system ${fsId} has no AVAILABLE data repository association; create one first.`,
        );
      if (report.Enabled && report.Path) {
        const where = parseS3Path(report.Path, 'Report.Path');
        const inside = linked.some((a) => {
          const r = parseS3Path(a.dra.DataRepositoryPath);
          return r.bucket === where.bucket && where.prefix.startsWith(r.prefix);
        });
        if (!inside)
          throw new FsxApiError(
            'BadRequest',
            `Report.Path ${report.Path} must be inside the data repository of one of the file system's associations.`,
          );
      }
      const busy = Object.values(state.tasks).find(
        (t) => t.task.FileSystemId === fsId && !TERMINAL_TASK.includes(t.task.Lifecycle),
      );
      if (busy)
        throw new FsxApiError(
          'DataRepositoryTaskExecuting',
          `Data repository task ${busy.task.TaskId} is ${busy.task.Lifecycle} on file system ${fsId}; create the next task when it has completed.`,
        );
      const rec = addTask(ctx, fsId, type, paths ?? [], report, tags);
      if (release)
        rec.task.ReleaseConfiguration = {
          DurationSinceLastAccess: { Unit: (unit ?? 'DAYS') as 'DAYS', Value: days ?? 0 },
        };
      return { resourceId: rec.task.TaskId, response: { DataRepositoryTask: structuredClone(rec.task) } };
    },
  );
  await ctx.store.commit();
  if (fresh) ctx.repositoryJobs.kickTask(response.DataRepositoryTask.TaskId);
  return response;
}

/** Adds a PENDING task to the state (the caller commits and kicks it). */
export function addTask(
  ctx: ApiContext,
  fsId: string,
  type: TaskType,
  paths: string[],
  report: CompletionReport,
  tags: DataRepositoryTask['Tags'] = [],
): TaskRecord {
  const id = newId('task');
  const now = ctx.now() / 1000;
  const task: DataRepositoryTask = {
    TaskId: id,
    Lifecycle: 'PENDING',
    Type: type,
    CreationTime: now,
    ResourceARN: `arn:aws:fsx:${ctx.region}:${ctx.accountId}:task/${id}`,
    Tags: tags,
    FileSystemId: fsId,
    Paths: paths,
    Status: { TotalCount: 0, SucceededCount: 0, FailedCount: 0, LastUpdatedTime: now },
    Report: report,
  };
  const rec: TaskRecord = { task, associationIds: [] };
  repositoryState(ctx).tasks[id] = rec;
  return rec;
}

export function getTask(ctx: ApiContext, id: string): TaskRecord {
  const rec = repositoryState(ctx).tasks[id];
  if (!rec) throw taskNotFound(id);
  return rec;
}

export async function describeDataRepositoryTasks(ctx: ApiContext, body: Body): Promise<unknown> {
  const input = new Input(body);
  const ids = input.strList('TaskIds', { maxItems: 50 }, REPO_RULES.taskId);
  const filters = input.objList('Filters', { maxItems: 3 })?.map((f) => ({
    name: f.str('Name', { oneOf: TASK_FILTERS }),
    values: f.strList('Values', { maxItems: 20 }, RULES.filterValue) ?? [],
  }));
  const max = input.int('MaxResults', { min: 1, max: 25 });
  const token = input.str('NextToken', RULES.nextToken);
  const all = repositoryState(ctx).tasks;
  let items: TaskRecord[] = ids ? [...new Set(ids)].map((id) => getTask(ctx, id)) : Object.values(all);
  for (const f of filters ?? []) {
    if (f.name === 'file-system-id') {
      for (const v of f.values) if (!items.some((t) => t.task.FileSystemId === v)) getFileSystem(ctx, v);
      items = items.filter((t) => f.values.includes(t.task.FileSystemId));
    } else if (f.name === 'task-lifecycle') items = items.filter((t) => f.values.includes(t.task.Lifecycle));
    else if (f.name === 'data-repository-association-id')
      items = items.filter((t) => t.associationIds.some((a) => f.values.includes(a)));
    else if (f.name === 'file-cache-id') items = [];
  }
  const key = (t: TaskRecord) => creationKey(t.task.CreationTime, t.task.TaskId);
  items.sort((a, b) => (key(a) < key(b) ? -1 : 1));
  const { page, nextToken } = paginate(items, key, max, token);
  return {
    DataRepositoryTasks: page.map((t) => structuredClone(t.task)),
    ...(nextToken ? { NextToken: nextToken } : {}),
  };
}

export async function cancelDataRepositoryTask(ctx: ApiContext, body: Body): Promise<unknown> {
  const input = new Input(body);
  const id = input.str('TaskId', { required: true, ...REPO_RULES.taskId })!;
  const rec = getTask(ctx, id);
  const t = rec.task;
  if (TERMINAL_TASK.includes(t.Lifecycle))
    throw new FsxApiError(
      'DataRepositoryTaskEnded',
      `Data repository task ${id} has already ended (${t.Lifecycle}).`,
    );
  if (t.Lifecycle !== 'CANCELING') {
    t.Lifecycle = 'CANCELING';
    t.Status.LastUpdatedTime = ctx.now() / 1000;
  }
  await ctx.store.commit();
  ctx.repositoryJobs.cancelTask(id);
  return { Lifecycle: t.Lifecycle, TaskId: id };
}
