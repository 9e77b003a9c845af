// The HSM agent behind the FSx API: the DataRepositoryService over an ObjectStore and clients of the emulated file systems.
import { type Logger, logger } from '../../lib/log.ts';
import type { LustreClient } from '../../lustre/client/lustre-client.ts';
import {
  changelogUser,
  deregisterAutoExport,
  type ExportEvent,
  registerAutoExport,
} from '../../lustre/hsm/auto-export.ts';
import {
  type AutoEvent,
  applyObjectEvent,
  parseEventRecords,
  reconcileListing,
} from '../../lustre/hsm/auto-import.ts';
import type { ExportRetry } from '../../lustre/hsm/export-retry.ts';
import { exportPath } from '../../lustre/hsm/exporter.ts';
import { importPrefix, keyOfPath, type RepositoryLink } from '../../lustre/hsm/importer.ts';
import { releasePath } from '../../lustre/hsm/releaser.ts';
import { type RestoreOptions, runRestorer } from '../../lustre/hsm/restorer.ts';
import { emptyDir, ensureDir } from '../../lustre/hsm/tree.ts';
import { isObjectStoreError, type ObjectStore } from '../../platform/object-store.ts';
import { runAutoExport } from './auto-export-loop.ts';
import { BucketNotifications } from './bucket-notifications.ts';
import type { DataRepositoryAssociation, DataRepositoryTask } from './repository-model.ts';
import { parseS3Path } from './repository-rules.ts';
import type { DataRepositoryService, TaskProgress, TaskScope } from './repository-service.ts';

/** Connects an HSM agent client to the file system `fsname`; the caller closes it. */
export type ConnectAgent = (fsname: string, signal: AbortSignal) => Promise<LustreClient>;

export interface S3RepositoriesOptions {
  store: ObjectStore;
  connect: ConnectAgent;
  restore?: RestoreOptions;
  /** Clock of release ages (default Date.now). */
  now?: () => number;
  /** The queue ARN bucket notifications go to (e.g. arn:minio:sqs::nacre:webhook); without it, listing only. */
  notificationArn?: string;
  /** How often associations with automatic import list their prefix as a fallback (default 60 s; 0: never). */
  listingIntervalMs?: number;
  /** Attempts and first backoff of a change whose automatic export fails (default 5, 1 s; see ExportRetry). */
  autoExportRetry?: Pick<ExportRetry, 'attempts' | 'backoffMs'>;
  /** Told of each change automatic export gave up on (a metric); it is logged at error too. */
  onExportParked?: (associationId: string) => void;
}

export function linkOf(a: DataRepositoryAssociation): RepositoryLink {
  const { bucket, prefix } = parseS3Path(a.DataRepositoryPath);
  return { bucket, prefix, fsPath: a.FileSystemPath, chunkBytes: a.ImportedFileChunkSize * 1024 * 1024 };
}

interface Agent {
  client: Promise<LustreClient>;
  stop: AbortController;
  loop?: Promise<void>;
  /** AVAILABLE associations with an automatic import policy. */
  autoImport: DataRepositoryAssociation[];
  /** AVAILABLE associations with an automatic export policy. */
  autoExport: DataRepositoryAssociation[];
  /** The automatic export loop (waits on the changelog), once an association has a policy. */
  exportLoop?: Promise<void>;
  /** Associations whose changelog user is registered (by this process). */
  registered: Set<string>;
  /** Event and listing work of this file system, one at a time. */
  chain: Promise<void>;
  timer?: NodeJS.Timeout;
}

function importEvents(a: DataRepositoryAssociation): AutoEvent[] {
  return a.S3?.AutoImportPolicy?.Events ?? [];
}

function exportEvents(a: DataRepositoryAssociation): ExportEvent[] {
  return a.S3?.AutoExportPolicy?.Events ?? [];
}

/**
 * One agent client per file system with associations: it restores released files (long-polling
 * its MDS) and runs the tasks. Clients are made on first use and closed when the file system has
 * no association left, or at `close`.
 */
export class S3Repositories implements DataRepositoryService {
  readonly #o: S3RepositoriesOptions;
  readonly #agents = new Map<string, Agent>();
  readonly #log: Logger = logger('hsm-agent');
  readonly #notifications: BucketNotifications | undefined;

  constructor(opts: S3RepositoriesOptions) {
    this.#o = opts;
    this.#notifications = opts.notificationArn
      ? new BucketNotifications(opts.store, opts.notificationArn)
      : undefined;
  }

  async check(a: DataRepositoryAssociation, signal: AbortSignal): Promise<string | undefined> {
    const { bucket, prefix } = parseS3Path(a.DataRepositoryPath);
    try {
      await this.#o.store.checkBucket(bucket, signal);
      for await (const _ of this.#o.store.list(bucket, prefix, signal)) break;
      return undefined;
    } catch (err) {
      if (signal.aborted) throw err;
      const why = err instanceof Error ? err.message : String(err);
      if (isObjectStoreError(err, 'NoSuchBucket'))
        return `The S3 bucket ${bucket} does not exist. Create it or fix DataRepositoryPath.`;
      if (isObjectStoreError(err, 'InvalidCredentials'))
        return `S3 refused the emulator's credentials for ${a.DataRepositoryPath} (${why}). Fix the S3 access key the emulator runs with.`;
      if (isObjectStoreError(err, 'AccessDenied'))
        return `Access to ${a.DataRepositoryPath} is denied (${why}). Allow s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject for the emulator's credentials.`;
      return `The S3 data repository ${a.DataRepositoryPath} cannot be reached: ${why}`;
    }
  }

  async link(fsname: string, a: DataRepositoryAssociation, signal: AbortSignal): Promise<void> {
    const c = await this.#client(fsname, signal);
    await ensureDir(c, a.FileSystemPath, signal);
    // Changes are kept for automatic export from the moment the association exists.
    if (exportEvents(a).length > 0) await registerAutoExport(c, changelogUser(a.AssociationId), signal);
    if (importEvents(a).length === 0 || !this.#notifications) return;
    await this.#syncNotifications(this.#notifications.note(a), a, signal);
  }

  async #syncNotifications(bucket: string, a: DataRepositoryAssociation, signal: AbortSignal): Promise<void> {
    try {
      await this.#notifications?.sync(bucket, signal);
    } catch (err) {
      // Automatic import still works through the periodic listing.
      this.#log.warn('could not configure the bucket notification; falling back to listing', {
        associationId: a.AssociationId,
        error: String(err),
      });
    }
  }

  /** An S3 event notification body: applied to every association with automatic import it concerns. */
  handleEvents(body: unknown): void {
    const records = parseEventRecords(body);
    if (records.length === 0) return;
    for (const [fsname, agent] of this.#agents)
      for (const dra of agent.autoImport) {
        const link = linkOf(dra);
        const mine = records.filter((r) => r.bucket === link.bucket && r.key.startsWith(link.prefix));
        if (mine.length > 0)
          this.#enqueue(fsname, agent, async (c, signal) => {
            for (const r of mine)
              await applyObjectEvent(c, this.#o.store, link, importEvents(dra), r, signal);
          });
      }
  }

  #enqueue(
    fsname: string,
    agent: Agent,
    work: (c: LustreClient, signal: AbortSignal) => Promise<void>,
  ): Promise<void> {
    agent.chain = agent.chain
      .then(async () => work(await agent.client, agent.stop.signal))
      .catch((err: unknown) => {
        if (!agent.stop.signal.aborted)
          this.#log.warn('automatic import or export failed; it is tried again', {
            fsname,
            error: String(err),
          });
      });
    return agent.chain;
  }

  async run(
    task: DataRepositoryTask,
    scope: TaskScope,
    progress: TaskProgress,
    signal: AbortSignal,
  ): Promise<void> {
    const c = await this.#client(scope.fsname, signal);
    const link = linkOf(scope.association);
    const paths = scope.paths ?? [link.fsPath];
    const done = (o: { path: string; ok: boolean; errorCode?: string }) => progress.done(o);
    for (const p of paths) {
      if (task.Type === 'IMPORT_METADATA_FROM_REPOSITORY') {
        const sub = p === link.fsPath ? '' : keyOfPath(link, p, true).slice(link.prefix.length);
        await importPrefix(c, this.#o.store, link, sub, (n) => progress.found(n), done, signal);
      } else if (task.Type === 'EXPORT_TO_REPOSITORY') {
        const target = scope.exportPath
          ? { ...link, prefix: parseS3Path(scope.exportPath, 'ExportPath').prefix }
          : link;
        await exportPath(c, this.#o.store, target, p, {}, (n) => progress.found(n), done, signal);
      } else if (task.Type === 'RELEASE_DATA_FROM_FILESYSTEM') {
        const days = task.ReleaseConfiguration?.DurationSinceLastAccess.Value ?? 0;
        const now = (this.#o.now ?? Date.now)();
        await releasePath(
          c,
          p,
          days * 86_400_000,
          now,
          (n) => progress.found(n),
          done,
          (b) => progress.released(b),
          signal,
        );
      } else throw new Error(`${task.Type} tasks are not supported on Lustre file systems`);
    }
  }

  async writeReport(url: string, body: string, signal: AbortSignal): Promise<void> {
    const { bucket, prefix } = parseS3Path(url, 'Report.Path');
    await this.#o.store.put(bucket, prefix.replace(/\/$/, ''), Buffer.from(body), {}, signal);
  }

  async unlink(
    fsname: string,
    a: DataRepositoryAssociation,
    deleteData: boolean,
    signal: AbortSignal,
  ): Promise<void> {
    const c = await this.#client(fsname, signal);
    if (exportEvents(a).length > 0) await deregisterAutoExport(c, changelogUser(a.AssociationId), signal);
    this.#agents.get(fsname)?.registered.delete(a.AssociationId);
    if (this.#notifications && importEvents(a).length > 0)
      await this.#syncNotifications(this.#notifications.forget(a), a, signal);
    if (!deleteData) return;
    await emptyDir(c, a.FileSystemPath, signal);
  }

  watch(fsname: string, associations: DataRepositoryAssociation[]): void {
    const agent = this.#agents.get(fsname);
    if (associations.length === 0) {
      if (agent) void this.#stop(fsname, agent);
      return;
    }
    const a = agent ?? this.#start(fsname);
    a.autoImport = associations.filter((d) => importEvents(d).length > 0);
    for (const d of a.autoImport) this.#notifications?.note(d);
    const interval = this.#o.listingIntervalMs ?? 60_000;
    if (a.autoImport.length > 0 && interval > 0 && !a.timer) {
      a.timer = setInterval(() => {
        for (const dra of a.autoImport)
          void this.#enqueue(fsname, a, (c, signal) =>
            reconcileListing(c, this.#o.store, linkOf(dra), importEvents(dra), signal).then(() => {}),
          );
      }, interval);
      a.timer.unref();
    }
    if (a.autoImport.length === 0 && a.timer) {
      clearInterval(a.timer);
      delete a.timer;
    }
    a.autoExport = associations.filter((d) => exportEvents(d).length > 0);
    for (const d of associations)
      if (exportEvents(d).length === 0 && a.registered.has(d.AssociationId)) {
        a.registered.delete(d.AssociationId);
        void this.#enqueue(fsname, a, (c, signal) =>
          deregisterAutoExport(c, changelogUser(d.AssociationId), signal),
        );
      }
    // (It waits on the changelog; with no association left to export it only waits.)
    if (a.autoExport.length > 0)
      a.exportLoop ??= runAutoExport({
        client: a.client,
        store: this.#o.store,
        associations: () => a.autoExport,
        registered: a.registered,
        enqueue: (work) => this.#enqueue(fsname, a, work),
        linkOf,
        eventsOf: exportEvents,
        ...(this.#o.autoExportRetry && { retry: this.#o.autoExportRetry }),
        ...(this.#o.onExportParked && { onParked: this.#o.onExportParked }),
        log: this.#log,
        signal: a.stop.signal,
      });
    a.loop ??= a.client
      .then((c) => runRestorer(c, this.#o.store, this.#o.restore ?? {}, a.stop.signal, this.#log))
      .catch((err: unknown) => {
        if (!a.stop.signal.aborted) this.#log.error('restore loop ended', { fsname, error: String(err) });
      });
  }

  async close(): Promise<void> {
    await Promise.all([...this.#agents].map(([fsname, a]) => this.#stop(fsname, a)));
  }

  #start(fsname: string): Agent {
    const stop = new AbortController();
    const client = (async () => {
      const c = await this.#o.connect(fsname, AbortSignal.any([stop.signal, AbortSignal.timeout(60_000)]));
      // Registers this client as an HSM agent: its opens do not wait for restores nor make files dirty.
      await c.mds.call('hsmAgentPoll', { timeoutMs: 0 }, stop.signal);
      return c;
    })();
    client.catch(() => {
      if (this.#agents.get(fsname)?.client === client) this.#agents.delete(fsname);
    });
    const agent: Agent = {
      client,
      stop,
      autoImport: [],
      autoExport: [],
      registered: new Set(),
      chain: Promise.resolve(),
    };
    this.#agents.set(fsname, agent);
    return agent;
  }

  async #stop(fsname: string, a: Agent): Promise<void> {
    if (this.#agents.get(fsname) === a) this.#agents.delete(fsname);
    a.stop.abort();
    if (a.timer) clearInterval(a.timer);
    await a.loop;
    await a.exportLoop;
    await a.chain;
    await (await a.client.catch(() => undefined))?.close();
  }

  async #client(fsname: string, signal: AbortSignal): Promise<LustreClient> {
    const a = this.#agents.get(fsname) ?? this.#start(fsname);
    signal.throwIfAborted();
    return await a.client;
  }
}
