// FileSystemBackend on the FSx SDK: one call per method, a deadline on each, errors translated once, every call observed.
import {
  CancelDataRepositoryTaskCommand,
  CreateBackupCommand,
  CreateDataRepositoryAssociationCommand,
  CreateDataRepositoryTaskCommand,
  CreateFileSystemCommand,
  CreateFileSystemFromBackupCommand,
  DeleteBackupCommand,
  DeleteDataRepositoryAssociationCommand,
  DeleteFileSystemCommand,
  DescribeBackupsCommand,
  DescribeDataRepositoryAssociationsCommand,
  DescribeDataRepositoryTasksCommand,
  DescribeFileSystemsCommand,
  TagResourceCommand,
  UpdateDataRepositoryAssociationCommand,
  UpdateFileSystemCommand,
} from '@aws-sdk/client-fsx';
import type { DataRepositoryAssociationSpec, DataRepositoryTaskSpec, Tag } from '../api/index.ts';
import type {
  AssociationInfo,
  BackupInfo,
  FileSystemBackend,
  FileSystemCreate,
  FileSystemInfo,
  FileSystemUpdate,
  FsxApi,
  TaskInfo,
} from './backend.ts';
import { FsxError, isFsxError, translateFsxError } from './backend-errors.ts';
import {
  associationInfo,
  backupInfo,
  createAssociationRequest,
  createFileSystemRequest,
  createFromBackupRequest,
  createTaskRequest,
  fileSystemInfo,
  pascalKeys,
  tagsToSdk,
  taskInfo,
  updateFileSystemRequest,
} from './backend-shapes.ts';

export interface SdkBackendOptions {
  /** Deadline of each API call (default 30 s). */
  callTimeoutMs?: number;
  /** Subnet sent when a spec names none (the emulator's placeholder network needs one). */
  defaultSubnetId?: string;
  /** Called after every API call with its outcome ('Success' or an FsxError code) and duration. */
  onCall?: (operation: string, outcome: string, seconds: number) => void;
}

type Send<T> = (abortSignal: AbortSignal) => Promise<T>;

export class SdkFileSystemBackend implements FileSystemBackend {
  readonly #api: FsxApi;
  readonly #opts: SdkBackendOptions;

  constructor(api: FsxApi, opts: SdkBackendOptions = {}) {
    this.#api = api;
    this.#opts = opts;
  }

  async #call<T>(operation: string, signal: AbortSignal, send: Send<T>): Promise<T> {
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(this.#opts.callTimeoutMs ?? 30_000)]);
    const started = performance.now();
    const observe = (outcome: string) =>
      this.#opts.onCall?.(operation, outcome, (performance.now() - started) / 1000);
    try {
      const out = await send(deadline);
      observe('Success');
      return out;
    } catch (err) {
      const e = translateFsxError(err, operation, signal);
      observe(e instanceof FsxError ? e.code : 'Aborted');
      throw e;
    }
  }

  /** `call`'s result, or `absent` when it failed with NotFound. */
  async #unlessNotFound<T, A>(call: Promise<T>, absent: A): Promise<T | A> {
    try {
      return await call;
    } catch (err) {
      if (isFsxError(err, 'NotFound')) return absent;
      throw err;
    }
  }

  async createFileSystem(req: FileSystemCreate, signal: AbortSignal): Promise<FileSystemInfo> {
    const subnet = this.#opts.defaultSubnetId;
    if (req.spec.backupID !== undefined) {
      const input = createFromBackupRequest(req, subnet);
      const out = await this.#call('CreateFileSystemFromBackup', signal, (abortSignal) =>
        this.#api.send(new CreateFileSystemFromBackupCommand(input), { abortSignal }),
      );
      return fileSystemInfo(out.FileSystem ?? {});
    }
    const input = createFileSystemRequest(req, subnet);
    const out = await this.#call('CreateFileSystem', signal, (abortSignal) =>
      this.#api.send(new CreateFileSystemCommand(input), { abortSignal }),
    );
    return fileSystemInfo(out.FileSystem ?? {});
  }

  async describeFileSystem(fileSystemId: string, signal: AbortSignal): Promise<FileSystemInfo | undefined> {
    const out = await this.#unlessNotFound(
      this.#call('DescribeFileSystems', signal, (abortSignal) =>
        this.#api.send(new DescribeFileSystemsCommand({ FileSystemIds: [fileSystemId] }), { abortSignal }),
      ),
      undefined,
    );
    const fs = out?.FileSystems?.find((f) => f.FileSystemId === fileSystemId);
    return fs ? fileSystemInfo(fs) : undefined;
  }

  async findFileSystemByTag(
    key: string,
    value: string,
    signal: AbortSignal,
  ): Promise<FileSystemInfo | undefined> {
    let next: string | undefined;
    do {
      const token = next;
      const out = await this.#call('DescribeFileSystems', signal, (abortSignal) =>
        this.#api.send(new DescribeFileSystemsCommand(token ? { NextToken: token } : {}), { abortSignal }),
      );
      const fs = out.FileSystems?.find((f) => f.Tags?.some((t) => t.Key === key && t.Value === value));
      if (fs) return fileSystemInfo(fs);
      next = out.NextToken;
    } while (next);
    return undefined;
  }

  async updateFileSystem(
    fileSystemId: string,
    update: FileSystemUpdate,
    clientRequestToken: string,
    signal: AbortSignal,
  ): Promise<FileSystemInfo> {
    const input = updateFileSystemRequest(fileSystemId, update, clientRequestToken);
    const out = await this.#call('UpdateFileSystem', signal, (abortSignal) =>
      this.#api.send(new UpdateFileSystemCommand(input), { abortSignal }),
    );
    return fileSystemInfo(out.FileSystem ?? {});
  }

  async tagResource(resourceARN: string, tags: Tag[], signal: AbortSignal): Promise<void> {
    const input = { ResourceARN: resourceARN, Tags: tagsToSdk(tags) };
    await this.#call('TagResource', signal, (abortSignal) =>
      this.#api.send(new TagResourceCommand(input), { abortSignal }),
    );
  }

  async deleteFileSystem(
    fileSystemId: string,
    opts: { skipFinalBackup: boolean; finalBackupTags?: Tag[]; clientRequestToken: string },
    signal: AbortSignal,
  ): Promise<boolean> {
    const lustre = {
      SkipFinalBackup: opts.skipFinalBackup,
      ...(opts.finalBackupTags?.length && !opts.skipFinalBackup
        ? { FinalBackupTags: tagsToSdk(opts.finalBackupTags) }
        : {}),
    };
    const input = {
      FileSystemId: fileSystemId,
      ClientRequestToken: opts.clientRequestToken,
      LustreConfiguration: lustre,
    };
    const call = this.#call('DeleteFileSystem', signal, (abortSignal) =>
      this.#api.send(new DeleteFileSystemCommand(input), { abortSignal }),
    );
    return this.#unlessNotFound(
      call.then(() => true),
      false,
    );
  }

  async createBackup(
    fileSystemId: string,
    tags: Tag[],
    clientRequestToken: string,
    signal: AbortSignal,
  ): Promise<BackupInfo> {
    const input = {
      FileSystemId: fileSystemId,
      ClientRequestToken: clientRequestToken,
      ...(tags.length ? { Tags: tagsToSdk(tags) } : {}),
    };
    const out = await this.#call('CreateBackup', signal, (abortSignal) =>
      this.#api.send(new CreateBackupCommand(input), { abortSignal }),
    );
    return backupInfo(
      out.Backup ?? {
        BackupId: undefined,
        Lifecycle: undefined,
        Type: undefined,
        CreationTime: undefined,
        FileSystem: undefined,
      },
    );
  }

  async describeBackup(backupId: string, signal: AbortSignal): Promise<BackupInfo | undefined> {
    const out = await this.#unlessNotFound(
      this.#call('DescribeBackups', signal, (abortSignal) =>
        this.#api.send(new DescribeBackupsCommand({ BackupIds: [backupId] }), { abortSignal }),
      ),
      undefined,
    );
    const b = out?.Backups?.find((x) => x.BackupId === backupId);
    return b ? backupInfo(b) : undefined;
  }

  async deleteBackup(backupId: string, clientRequestToken: string, signal: AbortSignal): Promise<boolean> {
    const call = this.#call('DeleteBackup', signal, (abortSignal) =>
      this.#api.send(
        new DeleteBackupCommand({ BackupId: backupId, ClientRequestToken: clientRequestToken }),
        {
          abortSignal,
        },
      ),
    );
    return this.#unlessNotFound(
      call.then(() => true),
      false,
    );
  }

  async createDataRepositoryAssociation(
    fileSystemId: string,
    spec: DataRepositoryAssociationSpec,
    clientRequestToken: string,
    signal: AbortSignal,
  ): Promise<AssociationInfo> {
    const input = createAssociationRequest(fileSystemId, spec, clientRequestToken);
    const out = await this.#call('CreateDataRepositoryAssociation', signal, (abortSignal) =>
      this.#api.send(new CreateDataRepositoryAssociationCommand(input), { abortSignal }),
    );
    return associationInfo(out.Association ?? {});
  }

  async describeDataRepositoryAssociation(
    associationId: string,
    signal: AbortSignal,
  ): Promise<AssociationInfo | undefined> {
    const out = await this.#unlessNotFound(
      this.#call('DescribeDataRepositoryAssociations', signal, (abortSignal) =>
        this.#api.send(new DescribeDataRepositoryAssociationsCommand({ AssociationIds: [associationId] }), {
          abortSignal,
        }),
      ),
      undefined,
    );
    const a = out?.Associations?.find((x) => x.AssociationId === associationId);
    return a ? associationInfo(a) : undefined;
  }

  async updateDataRepositoryAssociation(
    associationId: string,
    update: Pick<DataRepositoryAssociationSpec, 'importedFileChunkSize' | 's3'>,
    clientRequestToken: string,
    signal: AbortSignal,
  ): Promise<AssociationInfo> {
    const input = {
      AssociationId: associationId,
      ClientRequestToken: clientRequestToken,
      ...(update.importedFileChunkSize !== undefined
        ? { ImportedFileChunkSize: update.importedFileChunkSize }
        : {}),
      ...(update.s3 ? { S3: pascalKeys(update.s3) as Record<string, never> } : {}),
    };
    const out = await this.#call('UpdateDataRepositoryAssociation', signal, (abortSignal) =>
      this.#api.send(new UpdateDataRepositoryAssociationCommand(input), { abortSignal }),
    );
    return associationInfo(out.Association ?? {});
  }

  async deleteDataRepositoryAssociation(
    associationId: string,
    deleteData: boolean,
    clientRequestToken: string,
    signal: AbortSignal,
  ): Promise<boolean> {
    const input = {
      AssociationId: associationId,
      DeleteDataInFileSystem: deleteData,
      ClientRequestToken: clientRequestToken,
    };
    const call = this.#call('DeleteDataRepositoryAssociation', signal, (abortSignal) =>
      this.#api.send(new DeleteDataRepositoryAssociationCommand(input), { abortSignal }),
    );
    return this.#unlessNotFound(
      call.then(() => true),
      false,
    );
  }

  async createDataRepositoryTask(
    fileSystemId: string,
    spec: DataRepositoryTaskSpec,
    clientRequestToken: string,
    signal: AbortSignal,
  ): Promise<TaskInfo> {
    const input = createTaskRequest(fileSystemId, spec, clientRequestToken);
    const out = await this.#call('CreateDataRepositoryTask', signal, (abortSignal) =>
      this.#api.send(new CreateDataRepositoryTaskCommand(input), { abortSignal }),
    );
    return taskInfo(
      out.DataRepositoryTask ?? {
        TaskId: undefined,
        Lifecycle: undefined,
        Type: undefined,
        CreationTime: undefined,
      },
    );
  }

  async describeDataRepositoryTask(taskId: string, signal: AbortSignal): Promise<TaskInfo | undefined> {
    const out = await this.#unlessNotFound(
      this.#call('DescribeDataRepositoryTasks', signal, (abortSignal) =>
        this.#api.send(new DescribeDataRepositoryTasksCommand({ TaskIds: [taskId] }), { abortSignal }),
      ),
      undefined,
    );
    const t = out?.DataRepositoryTasks?.find((x) => x.TaskId === taskId);
    return t ? taskInfo(t) : undefined;
  }

  async cancelDataRepositoryTask(taskId: string, signal: AbortSignal): Promise<boolean> {
    try {
      await this.#call('CancelDataRepositoryTask', signal, (abortSignal) =>
        this.#api.send(new CancelDataRepositoryTaskCommand({ TaskId: taskId }), { abortSignal }),
      );
      return true;
    } catch (err) {
      if (isFsxError(err, 'NotFound') || (isFsxError(err) && err.fsxCode === 'DataRepositoryTaskEnded'))
        return false;
      throw err;
    }
  }
}
