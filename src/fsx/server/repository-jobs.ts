// The work behind association and task lifecycles: link, relink, unlink, and run tasks with counts and completion reports; resumed after a restart.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger, logger } from '../../lib/log.ts';
import { repositoryState } from './association-ops.ts';
import type { ApiContext } from './context.ts';
import { newId } from './ids.ts';
import type {
  AssociationRecord,
  DataRepositoryAssociation,
  EventType,
  TaskRecord,
} from './repository-model.ts';
import { associationOf, formatS3Path, normaliseFileSystemPath, parseS3Path } from './repository-rules.ts';
import type { FileResult, RepositoryJobs, TaskScope } from './repository-service.ts';

export type { RepositoryJobs } from './repository-service.ts';

import { addTask } from './task-ops.ts';

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** How often a running task's counts are written to the state. */
const STATUS_COMMIT_MS = 1000;
const LINK_ATTEMPTS = 6;

/** The CSV FSx writes for REPORT_CSV_20191124: file path, file status, error code; one line per file. */
export function reportCsv(results: readonly FileResult[]): string {
  const field = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  return results
    .map((r) => `${field(r.path)},${r.ok ? 'succeeded' : 'failed'},${r.errorCode ?? ''}\n`)
    .join('');
}

export class RepositoryJobRunner implements RepositoryJobs {
  readonly #running = new Map<string, Promise<void>>();
  readonly #cancels = new Map<string, AbortController>();
  readonly #stop = new AbortController();
  readonly #log: Logger = logger('fsx-api');
  #ctx: ApiContext | undefined;

  attach(ctx: ApiContext): void {
    this.#ctx = ctx;
  }

  get #c(): ApiContext {
    if (!this.#ctx) throw new Error('RepositoryJobRunner used before attach()');
    return this.#ctx;
  }

  kickAssociation(id: string): void {
    this.#start(`dra:${id}`, () => this.#runAssociation(id));
  }

  kickTask(id: string): void {
    this.#start(`task:${id}`, () => this.#runTask(id));
  }

  cancelTask(id: string): void {
    this.#cancels.get(id)?.abort();
    const rec = repositoryState(this.#c).tasks[id];
    if (rec?.task.Lifecycle === 'CANCELING' && !this.#running.has(`task:${id}`)) this.kickTask(id);
  }

  forgetFileSystem(fsname: string): void {
    this.#c.repositories?.watch(fsname, []);
    this.#watchAll();
  }

  linkLegacy(fileSystemId: string): void {
    const fs = this.#c.store.state.fileSystems[fileSystemId];
    const cfg = fs?.fs.LustreConfiguration.DataRepositoryConfiguration;
    const state = repositoryState(this.#c);
    if (
      !fs ||
      !cfg ||
      Object.values(state.associations).some((a) => a.legacyExportPath && a.dra.FileSystemId === fileSystemId)
    )
      return;
    const id = newId('dra');
    const events = {
      NONE: [],
      NEW: ['NEW'],
      NEW_CHANGED: ['NEW', 'CHANGED'],
      NEW_CHANGED_DELETED: ['NEW', 'CHANGED', 'DELETED'],
    }[cfg.AutoImportPolicy] as EventType[] | undefined;
    const loc = parseS3Path(cfg.ImportPath, 'ImportPath');
    state.associations[id] = {
      dra: {
        AssociationId: id,
        ResourceARN: `arn:aws:fsx:${this.#c.region}:${this.#c.accountId}:association/${fileSystemId}/${id}`,
        FileSystemId: fileSystemId,
        Lifecycle: 'CREATING',
        FileSystemPath: '/',
        DataRepositoryPath: formatS3Path(loc),
        BatchImportMetaDataOnCreate: true,
        ImportedFileChunkSize: cfg.ImportedFileChunkSize,
        ...(events?.length ? { S3: { AutoImportPolicy: { Events: events } } } : {}),
        Tags: [],
        CreationTime: this.#c.now() / 1000,
      },
      job: { kind: 'create' },
      legacyExportPath: cfg.ExportPath,
    };
    void this.#c.store.commit().then(() => this.kickAssociation(id));
  }

  /** Picks up every association and task that was in flight when the emulator stopped. */
  resumeAll(): void {
    const state = repositoryState(this.#c);
    for (const [id, rec] of Object.entries(state.associations)) if (rec.job) this.kickAssociation(id);
    for (const [id, rec] of Object.entries(state.tasks))
      if (['PENDING', 'EXECUTING', 'CANCELING'].includes(rec.task.Lifecycle)) this.kickTask(id);
    this.#watchAll();
  }

  async close(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled([...this.#running.values()]);
  }

  /** Resolves when the job of `key` ("dra:<id>" or "task:<id>") is not running. For tests and shutdown. */
  async idle(key: string): Promise<void> {
    await this.#running.get(key);
  }

  #start(key: string, fn: () => Promise<void>): void {
    if (this.#running.has(key) || this.#stop.signal.aborted) return;
    const p = fn()
      .catch((err: unknown) => {
        if (!this.#stop.signal.aborted)
          this.#log.error('repository job failed unexpectedly', { key, error: message(err) });
      })
      .finally(() => this.#running.delete(key));
    this.#running.set(key, p);
  }

  #watchAll(): void {
    const svc = this.#c.repositories;
    if (!svc) return;
    const { state } = this.#c.store;
    const byFs = new Map<string, DataRepositoryAssociation[]>();
    for (const r of Object.values(state.fileSystems)) byFs.set(r.fs.FileSystemId, []);
    const associations = repositoryState(this.#c).associations;
    for (const [id, a] of Object.entries(associations)) {
      // A file system's associations go with it, as on FSx.
      if (!byFs.has(a.dra.FileSystemId)) delete associations[id];
      else if (a.dra.Lifecycle === 'AVAILABLE') byFs.get(a.dra.FileSystemId)?.push(a.dra);
    }
    for (const [fsId, list] of byFs) {
      const fs = state.fileSystems[fsId];
      if (fs) svc.watch(fs.fs.LustreConfiguration.MountName, list);
    }
  }

  #fsname(fsId: string): string | undefined {
    return this.#c.store.state.fileSystems[fsId]?.fs.LustreConfiguration.MountName;
  }

  async #runAssociation(id: string): Promise<void> {
    const { store } = this.#c;
    const svc = this.#c.repositories;
    const rec = repositoryState(this.#c).associations[id];
    if (!rec?.job || !svc) return;
    const job = rec.job;
    const fsname = this.#fsname(rec.dra.FileSystemId);
    try {
      if (!fsname) throw new Error(`file system ${rec.dra.FileSystemId} no longer exists`);
      if (job.kind === 'delete') {
        await this.#withRetries(id, (signal) => svc.unlink(fsname, rec.dra, job.deleteData, signal));
        delete repositoryState(this.#c).associations[id];
      } else {
        const why = await svc.check(rec.dra, this.#stop.signal);
        if (why) {
          rec.dra.Lifecycle = 'MISCONFIGURED';
          rec.dra.FailureDetails = { Message: why };
        } else {
          await this.#withRetries(id, (signal) => svc.link(fsname, rec.dra, signal));
          rec.dra.Lifecycle = 'AVAILABLE';
          delete rec.dra.FailureDetails;
          if (job.kind === 'create' && rec.dra.BatchImportMetaDataOnCreate) this.#batchImport(rec);
        }
      }
    } catch (err) {
      if (this.#stop.signal.aborted) return;
      this.#log.warn('data repository association job failed', {
        associationId: id,
        job: job.kind,
        error: message(err),
      });
      rec.dra.Lifecycle = job.kind === 'create' ? 'FAILED' : 'MISCONFIGURED';
      rec.dra.FailureDetails = { Message: message(err) };
    }
    delete rec.job;
    const legacy = rec.legacyExportPath ? this.#c.store.state.fileSystems[rec.dra.FileSystemId] : undefined;
    const cfg = legacy?.fs.LustreConfiguration.DataRepositoryConfiguration;
    if (cfg) {
      cfg.Lifecycle = rec.dra.Lifecycle;
      if (rec.dra.FailureDetails) cfg.FailureDetails = rec.dra.FailureDetails;
      else delete cfg.FailureDetails;
    }
    // The agent learns of the association before anyone can see it AVAILABLE (an event right after must not be missed).
    this.#watchAll();
    await store.commit();
    const next = Object.values(repositoryState(this.#c).tasks).find(
      (t) => t.task.Lifecycle === 'PENDING' && t.associationIds.includes(id),
    );
    if (next) this.kickTask(next.task.TaskId);
  }

  #batchImport(rec: AssociationRecord): void {
    const t = addTask(
      this.#c,
      rec.dra.FileSystemId,
      'IMPORT_METADATA_FROM_REPOSITORY',
      [rec.dra.DataRepositoryPath],
      {
        Enabled: false,
      },
    );
    t.associationIds = [rec.dra.AssociationId];
  }

  async #withRetries(what: string, fn: (signal: AbortSignal) => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn(this.#stop.signal);
      } catch (err) {
        if (this.#stop.signal.aborted || attempt >= LINK_ATTEMPTS) throw err;
        this.#log.warn(`${what}: retrying`, { error: message(err), attempt });
        await sleep(Math.min(10_000, 250 * 2 ** attempt), undefined, { signal: this.#stop.signal });
      }
    }
  }

  /** The associations a task covers, with the paths inside each (undefined: all of it). */
  #scopes(rec: TaskRecord, fsname: string): TaskScope[] {
    const all = Object.values(repositoryState(this.#c).associations)
      .map((a) => a.dra)
      .filter((d) => d.FileSystemId === rec.task.FileSystemId && d.Lifecycle === 'AVAILABLE');
    const t = rec.task;
    const scopes = new Map<string, TaskScope>();
    const everything =
      t.Paths.length === 0 || (t.Type === 'RELEASE_DATA_FROM_FILESYSTEM' && t.Paths.includes('/'));
    for (const raw of everything ? [] : t.Paths) {
      let dra: DataRepositoryAssociation | undefined;
      let fsPath: string;
      if (t.Type === 'IMPORT_METADATA_FROM_REPOSITORY') {
        const loc = parseS3Path(raw, 'Paths');
        dra = all.find((d) => {
          const r = parseS3Path(d.DataRepositoryPath);
          return r.bucket === loc.bucket && loc.prefix.startsWith(r.prefix);
        });
        if (!dra)
          throw new Error(
            `Path ${raw} is not inside the data repository of any association of ${t.FileSystemId}.`,
          );
        const rest = loc.prefix.slice(parseS3Path(dra.DataRepositoryPath).prefix.length).replace(/\/$/, '');
        fsPath = rest
          ? `${dra.FileSystemPath === '/' ? '' : dra.FileSystemPath}/${rest}`
          : dra.FileSystemPath;
      } else {
        fsPath = normaliseFileSystemPath(raw.startsWith('/') ? raw : `/${raw}`, 'Paths');
        dra = associationOf(all, fsPath);
        if (!dra)
          throw new Error(
            `Path ${raw} is not inside the file system path of any data repository association of ${t.FileSystemId}.`,
          );
      }
      const s = scopes.get(dra.AssociationId) ?? { fsname, association: dra, paths: [] };
      s.paths?.push(fsPath);
      if (fsPath === dra.FileSystemPath) s.paths = undefined;
      scopes.set(dra.AssociationId, s);
    }
    const legacy = new Map(
      Object.values(repositoryState(this.#c).associations)
        .filter((a) => a.legacyExportPath)
        .map((a) => [a.dra.AssociationId, a.legacyExportPath!]),
    );
    const out =
      t.Paths.length === 0 || (t.Type === 'RELEASE_DATA_FROM_FILESYSTEM' && t.Paths.includes('/'))
        ? all.map((association): TaskScope => ({ fsname, association, paths: undefined }))
        : [...scopes.values()];
    for (const s of out) {
      const e = legacy.get(s.association.AssociationId);
      if (e) s.exportPath = e;
    }
    return out;
  }

  async #runTask(id: string): Promise<void> {
    const { store } = this.#c;
    const rec = repositoryState(this.#c).tasks[id];
    const svc = this.#c.repositories;
    if (!rec || !svc) return;
    const t = rec.task;
    const now = () => this.#c.now() / 1000;
    if (t.Lifecycle === 'CANCELING') return this.#end(rec, 'CANCELED');
    const cancel = new AbortController();
    this.#cancels.set(id, cancel);
    const signal = AbortSignal.any([cancel.signal, this.#stop.signal]);
    const results: FileResult[] = [];
    let lastCommit = 0;
    t.Lifecycle = 'EXECUTING';
    t.StartTime ??= now();
    // A task resumed after a restart starts its counts again: its work converges, so it is simply re-run.
    t.Status = { TotalCount: 0, SucceededCount: 0, FailedCount: 0, LastUpdatedTime: now() };
    if (t.Type === 'RELEASE_DATA_FROM_FILESYSTEM') t.Status.ReleasedCapacity = 0;
    await store.commit();
    const progress = {
      found: (n: number) => {
        t.Status.TotalCount += n;
      },
      done: (r: FileResult) => {
        results.push(r);
        if (r.ok) t.Status.SucceededCount++;
        else t.Status.FailedCount++;
        t.Status.LastUpdatedTime = now();
        if (Date.now() - lastCommit > STATUS_COMMIT_MS) {
          lastCommit = Date.now();
          void store.commit();
        }
      },
      released: (bytes: number) => {
        t.Status.ReleasedCapacity = (t.Status.ReleasedCapacity ?? 0) + bytes;
      },
    };
    try {
      const fsname = this.#fsname(t.FileSystemId);
      if (!fsname) throw new Error(`file system ${t.FileSystemId} no longer exists`);
      const scopes = this.#scopes(rec, fsname);
      if (rec.associationIds.length === 0)
        rec.associationIds = scopes.map((s) => s.association.AssociationId);
      for (const scope of scopes) await svc.run(t, scope, progress, signal);
      if (t.Report.Enabled && t.Report.Path) {
        const failed = results.filter((r) => !r.ok);
        const url = `${t.Report.Path.replace(/\/$/, '')}/${id}/failures.csv`;
        await svc.writeReport(url, reportCsv(failed), signal);
      }
      if (t.Status.FailedCount > 0)
        return this.#end(
          rec,
          'FAILED',
          `${t.Status.FailedCount} of ${t.Status.TotalCount} files failed${t.Report.Enabled ? '; the completion report lists them' : ''}.`,
        );
      return this.#end(rec, 'SUCCEEDED');
    } catch (err) {
      if (this.#stop.signal.aborted) return;
      if (cancel.signal.aborted) return this.#end(rec, 'CANCELED');
      this.#log.warn('data repository task failed', { taskId: id, error: message(err) });
      return this.#end(rec, 'FAILED', message(err));
    } finally {
      this.#cancels.delete(id);
    }
  }

  async #end(rec: TaskRecord, lifecycle: 'SUCCEEDED' | 'FAILED' | 'CANCELED', why?: string): Promise<void> {
    const t = rec.task;
    t.Lifecycle = lifecycle;
    t.EndTime = this.#c.now() / 1000;
    t.Status.LastUpdatedTime = t.EndTime;
    if (why) t.FailureDetails = { Message: why };
    await this.#c.store.commit();
  }
}
