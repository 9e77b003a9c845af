// The work behind FSx's lifecycle states, run after the API replied: allocate, grow, restore and destroy targets; take backups.
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineExceededError, FsError, NacreError, UnavailableError } from '../../../lib/errors.ts';
import { type Logger, logger } from '../../../lib/log.ts';
import type { ApiContext, Jobs } from '../context.ts';
import { newMountName } from '../ids.ts';
import type { AdministrativeAction, BackupRecord, FileSystemJob, FileSystemRecord } from '../model.ts';
import { mgsRootSquash } from './root-squash.ts';
import { ostCapacityBytes, ostCountFor, replicasFor } from './target-allocator.ts';

/** MGS answers that may change by themselves: unreachable, too slow, busy, or servers not registered yet. */
const TRANSIENT_CODES = new Set(['EAGAIN', 'EBUSY', 'InsufficientServers']);

function transient(err: unknown): boolean {
  if (err instanceof UnavailableError || err instanceof DeadlineExceededError) return true;
  return err instanceof NacreError && TRANSIENT_CODES.has(err.code);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Runs each resource's pending job once at a time. Jobs are persisted in the state before the API
 * replies, so `resumeAll` after a restart picks up whatever was CREATING, UPDATING or DELETING.
 * Transient MGS failures (unreachable, deadline, busy, no servers yet) are retried with backoff for `retryForMs`; any
 * other failure, or running out of time, is reported FSx's way (Lifecycle FAILED, FailureDetails).
 */
export class JobRunner implements Jobs {
  readonly #running = new Map<string, Promise<void>>();
  readonly #stop = new AbortController();
  readonly #log: Logger = logger('fsx-api');
  readonly #retryForMs: number;
  #ctx: ApiContext | undefined;

  constructor(opts: { retryForMs: number }) {
    this.#retryForMs = opts.retryForMs;
  }

  attach(ctx: ApiContext): void {
    this.#ctx = ctx;
  }

  get #c(): ApiContext {
    if (!this.#ctx) throw new NacreError('Internal', 'JobRunner used before attach()');
    return this.#ctx;
  }

  kickFileSystem(id: string): void {
    void this.#start(`fs:${id}`, () => this.#runFileSystem(id));
  }

  runBackup(id: string): Promise<void> {
    return this.#start(`backup:${id}`, () => this.#runBackup(id));
  }

  resumeAll(): void {
    const { state } = this.#c.store;
    for (const [id, rec] of Object.entries(state.fileSystems)) if (rec.job) this.kickFileSystem(id);
    for (const [id, rec] of Object.entries(state.backups)) if (rec.pending) void this.runBackup(id);
  }

  /** Stops every job (they stay pending in the state) and waits for them to wind down. */
  async close(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled([...this.#running.values()]);
  }

  #start(key: string, fn: () => Promise<void>): Promise<void> {
    const running = this.#running.get(key);
    if (running) return running;
    if (this.#stop.signal.aborted) return Promise.resolve();
    const p = fn()
      .catch((err: unknown) => {
        if (!this.#stop.signal.aborted)
          this.#log.error('job failed unexpectedly', { key, error: message(err) });
      })
      .finally(() => this.#running.delete(key));
    this.#running.set(key, p);
    return p;
  }

  async #retrying<T>(what: string, since: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = this.#stop.signal;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(signal);
      } catch (err) {
        if (signal.aborted || !transient(err) || Date.now() - since > this.#retryForMs) throw err;
        const delay = Math.min(30_000, 250 * 2 ** attempt);
        this.#log.warn(`${what}: MGS unavailable, retrying`, { error: message(err), delayMs: delay });
        await sleep(delay, undefined, { signal });
      }
    }
  }

  async #runFileSystem(id: string): Promise<void> {
    for (;;) {
      const rec = this.#c.store.state.fileSystems[id];
      const job = rec?.job;
      if (!rec || !job) return;
      rec.jobSince ??= Date.now();
      try {
        await this.#runJob(rec, job);
      } catch (err) {
        if (this.#stop.signal.aborted) return;
        this.#log.warn('file system job failed', { fileSystemId: id, job: job.kind, error: message(err) });
        this.#fail(rec, job, message(err));
      }
      if (rec.job === job) delete rec.job;
      delete rec.jobSince;
      await this.#c.store.commit();
    }
  }

  async #runJob(rec: FileSystemRecord, job: FileSystemJob): Promise<void> {
    switch (job.kind) {
      case 'create':
        await this.#ensureTargets(rec);
        rec.fs.Lifecycle = 'AVAILABLE';
        if (rec.fs.LustreConfiguration.DataRepositoryConfiguration)
          this.#c.repositoryJobs.linkLegacy(rec.fs.FileSystemId);
        return;
      case 'restore':
        return await this.#restore(rec, job);
      case 'grow':
        return await this.#grow(rec, job);
      case 'delete':
        return await this.#delete(rec, job.finalBackupId);
    }
  }

  #fail(rec: FileSystemRecord, job: FileSystemJob, why: string): void {
    if (job.kind === 'grow') {
      const action = capacityAction(rec);
      if (action) {
        action.Status = 'FAILED';
        action.FailureDetails = { Message: why };
      }
      rec.fs.Lifecycle = 'AVAILABLE';
      return;
    }
    rec.fs.Lifecycle = 'FAILED';
    rec.fs.FailureDetails = { Message: why };
    if (job.kind === 'restore') this.#doneRestoring(job.backupId, rec.fs.FileSystemId);
  }

  async #ensureTargets(rec: FileSystemRecord): Promise<void> {
    const { allocator, capacityScale } = this.#c;
    const fs = rec.fs;
    const fsname = fs.LustreConfiguration.MountName;
    const replicas = replicasFor(fs.LustreConfiguration.DeploymentType);
    const osts = ostCountFor(fs.StorageCapacity, replicas);
    const squash = mgsRootSquash(fs.LustreConfiguration.RootSquashConfiguration);
    const cfg = await this.#retrying('create', rec.jobSince!, (signal) =>
      allocator.createFileSystem(
        {
          fsname,
          ostCount: osts,
          ostCapacityBytes: ostCapacityBytes(fs.StorageCapacity, osts, capacityScale),
          replicas,
          ...(squash && { rootSquash: squash }),
        },
        signal,
      ),
    );
    rec.ostCount = cfg.osts.length;
  }

  async #restore(rec: FileSystemRecord, job: Extract<FileSystemJob, { kind: 'restore' }>): Promise<void> {
    const { backups, allocator, store } = this.#c;
    if (!backups) throw new NacreError('BackupsNotConfigured', 'backups are not configured on this emulator');
    if (job.started) {
      // Interrupted by a restart: the targets may hold part of the tree. Start over under a new
      // fsname, so no server can mistake the new targets for the old ones.
      const old = rec.fs.LustreConfiguration.MountName;
      await this.#retrying('restore', rec.jobSince!, (signal) => allocator.destroyFileSystem(old, signal));
      const taken = new Set(
        Object.values(store.state.fileSystems).map((r) => r.fs.LustreConfiguration.MountName),
      );
      rec.fs.LustreConfiguration.MountName = newMountName((n) => taken.has(n) || n === old);
    }
    job.started = true;
    await store.commit();
    await this.#ensureTargets(rec);
    await backups.restore(job.backupId, rec.fs.LustreConfiguration.MountName, this.#stop.signal);
    rec.fs.Lifecycle = 'AVAILABLE';
    this.#doneRestoring(job.backupId, rec.fs.FileSystemId);
  }

  #doneRestoring(backupId: string, fsId: string): void {
    const b = this.#c.store.state.backups[backupId];
    if (!b?.restoring) return;
    b.restoring = b.restoring.filter((x) => x !== fsId);
    if (b.restoring.length === 0) delete b.restoring;
  }

  async #grow(rec: FileSystemRecord, job: Extract<FileSystemJob, { kind: 'grow' }>): Promise<void> {
    const { allocator, store } = this.#c;
    const fsname = rec.fs.LustreConfiguration.MountName;
    const cfg = await this.#retrying('grow', rec.jobSince!, async (signal) => {
      const current = await allocator.getConfig(fsname, signal);
      if (!current) throw new FsError('ENOENT', `the MGS has no file system ${fsname}`);
      const missing = job.fromOstCount + job.addCount - current.osts.length;
      return missing > 0 ? await allocator.addOsts(fsname, missing, job.ostCapacityBytes, signal) : current;
    });
    rec.ostCount = cfg.osts.length;
    rec.fs.StorageCapacity = job.toCapacity;
    rec.fs.Lifecycle = 'AVAILABLE';
    const update = capacityAction(rec);
    if (update) {
      update.Status = 'UPDATED_OPTIMIZING';
      update.ProgressPercent = 100;
    }
    const optimization: AdministrativeAction = {
      AdministrativeActionType: 'STORAGE_OPTIMIZATION',
      RequestTime: this.#c.now() / 1000,
      Status: 'IN_PROGRESS',
      ProgressPercent: 0,
    };
    rec.fs.AdministrativeActions = [...(rec.fs.AdministrativeActions ?? []), optimization];
    await store.commit();
    // Existing objects are not migrated: new files stripe over all OSTs, so optimization completes at once.
    optimization.Status = 'COMPLETED';
    optimization.ProgressPercent = 100;
    if (update) update.Status = 'COMPLETED';
  }

  async #delete(rec: FileSystemRecord, finalBackupId: string | undefined): Promise<void> {
    const { allocator, store, backups } = this.#c;
    if (finalBackupId) {
      await this.runBackup(finalBackupId);
      const b = store.state.backups[finalBackupId];
      if (b?.backup.Lifecycle !== 'AVAILABLE')
        throw new NacreError(
          'FinalBackupFailed',
          `the final backup ${finalBackupId} failed (${b?.backup.FailureDetails?.Message ?? 'missing'}); the file system was not deleted`,
        );
    }
    const fsname = rec.fs.LustreConfiguration.MountName;
    await this.#retrying('delete', rec.jobSince!, (signal) => allocator.destroyFileSystem(fsname, signal));
    for (const [id, b] of Object.entries(store.state.backups)) {
      if (b.backup.FileSystem.FileSystemId !== rec.fs.FileSystemId || b.backup.Type !== 'AUTOMATIC') continue;
      delete store.state.backups[id];
      await backups?.delete(id);
    }
    delete store.state.fileSystems[rec.fs.FileSystemId];
    this.#c.repositoryJobs.forgetFileSystem(fsname);
  }

  async #runBackup(id: string): Promise<void> {
    const { store, backups } = this.#c;
    const rec = store.state.backups[id];
    if (!rec?.pending) return;
    try {
      if (!backups)
        throw new NacreError('BackupsNotConfigured', 'backups are not configured on this emulator');
      const previous = previousBackup(store.state.backups, rec);
      const since = Date.now();
      const { sizeInBytes } = await this.#retrying('backup', since, (signal) =>
        backups.create({ backupId: id, fsname: rec.fsname, previousBackupId: previous }, signal, (pct) => {
          rec.backup.ProgressPercent = pct;
        }),
      );
      rec.backup.Lifecycle = 'AVAILABLE';
      rec.backup.ProgressPercent = 100;
      rec.backup.SizeInBytes = sizeInBytes;
    } catch (err) {
      if (this.#stop.signal.aborted) return;
      this.#log.warn('backup failed', { backupId: id, error: message(err) });
      rec.backup.Lifecycle = 'FAILED';
      rec.backup.FailureDetails = { Message: message(err) };
      await backups?.delete(id);
    }
    delete rec.pending;
    await store.commit();
  }
}

/** The FILE_SYSTEM_UPDATE action of the capacity increase in progress. */
function capacityAction(rec: FileSystemRecord): AdministrativeAction | undefined {
  return rec.fs.AdministrativeActions?.findLast(
    (a) =>
      a.AdministrativeActionType === 'FILE_SYSTEM_UPDATE' &&
      a.TargetFileSystemValues?.StorageCapacity !== undefined,
  );
}

/** The newest AVAILABLE backup of the same file system, the base of an incremental backup. */
function previousBackup(all: Record<string, BackupRecord>, rec: BackupRecord): string | undefined {
  let best: BackupRecord | undefined;
  for (const b of Object.values(all)) {
    if (b === rec || b.backup.Lifecycle !== 'AVAILABLE') continue;
    if (b.backup.FileSystem.FileSystemId !== rec.backup.FileSystem.FileSystemId) continue;
    if (!best || b.backup.CreationTime > best.backup.CreationTime) best = b;
  }
  return best?.backup.BackupId;
}
