// A DataRepositoryService in memory for API tests: a set of buckets, files per association, scripted failures.
import type { DataRepositoryAssociation, DataRepositoryTask } from '../../src/fsx/server/repository-model.ts';
import { parseS3Path } from '../../src/fsx/server/repository-rules.ts';
import type {
  DataRepositoryService,
  TaskProgress,
  TaskScope,
} from '../../src/fsx/server/repository-service.ts';

export class FakeRepositories implements DataRepositoryService {
  readonly buckets = new Set<string>(['bucket', 'other']);
  /** Files a task run reports, with an error code for the ones that fail. */
  files: { path: string; errorCode?: string }[] = [{ path: 'a' }, { path: 'b' }];
  readonly reports = new Map<string, string>();
  readonly runs: { task: DataRepositoryTask; scope: TaskScope }[] = [];
  readonly unlinked: { id: string; deleteData: boolean }[] = [];
  readonly watched = new Map<string, string[]>();
  /** While set, runs wait for it (to observe EXECUTING and cancel). */
  gate: Promise<void> | undefined;

  async check(a: DataRepositoryAssociation): Promise<string | undefined> {
    const { bucket } = parseS3Path(a.DataRepositoryPath);
    return this.buckets.has(bucket) ? undefined : `The S3 bucket ${bucket} does not exist (NoSuchBucket).`;
  }

  async link(): Promise<void> {}

  async run(
    task: DataRepositoryTask,
    scope: TaskScope,
    progress: TaskProgress,
    signal: AbortSignal,
  ): Promise<void> {
    this.runs.push({ task: structuredClone(task), scope: structuredClone(scope) });
    if (this.gate) {
      const gate = this.gate;
      await new Promise<void>((resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        void gate.then(resolve);
      });
    }
    progress.found(this.files.length);
    for (const f of this.files) {
      progress.done({ path: f.path, ok: !f.errorCode, ...(f.errorCode ? { errorCode: f.errorCode } : {}) });
      if (!f.errorCode && task.Type === 'RELEASE_DATA_FROM_FILESYSTEM') progress.released(1024);
    }
  }

  async writeReport(url: string, body: string): Promise<void> {
    this.reports.set(url, body);
  }

  async unlink(_fsname: string, a: DataRepositoryAssociation, deleteData: boolean): Promise<void> {
    this.unlinked.push({ id: a.AssociationId, deleteData });
  }

  watch(fsname: string, associations: DataRepositoryAssociation[]): void {
    this.watched.set(
      fsname,
      associations.map((a) => a.AssociationId),
    );
  }
}
