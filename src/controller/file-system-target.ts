// Resolves the file system a Backup, association or task works on: by reference to a FileSystem object or by FSx ID, and waits until it is AVAILABLE.
import type { Backend, FileSystem } from '../api/index.ts';
import type { FileSystemBackend } from '../fsx/backend.ts';
import type { CustomResourceClient } from '../platform/kube.ts';
import type { ReconcileContext } from './reconcile-support.ts';

/** What Backup, DataRepositoryAssociation and DataRepositoryTask specs and statuses share. */
export interface TargetingSpec {
  backend?: Backend;
  fileSystemRef?: { name: string };
  fileSystemID?: string;
}

export interface TargetingStatus {
  backend?: Backend;
  fileSystemID?: string;
}

export type Target =
  | { ready: true; fileSystemId: string; backendName: Backend; backend: FileSystemBackend }
  | { ready: false; reason: 'FileSystemNotReady' | 'FileSystemNotFound'; message: string; slow: boolean };

/**
 * The file system `obj` names, once it can be used. A FileSystem reference resolves to that
 * object's status.fileSystemID and backend; either way the file system must be AVAILABLE.
 */
export async function resolveTarget(
  ctx: ReconcileContext,
  fileSystems: CustomResourceClient<FileSystem>,
  obj: { metadata: { namespace?: string }; spec: TargetingSpec; status?: TargetingStatus },
  signal: AbortSignal,
): Promise<Target> {
  let id = obj.status?.fileSystemID ?? obj.spec.fileSystemID;
  let backendName = obj.status?.backend ?? obj.spec.backend;
  const ref = obj.spec.fileSystemRef;
  if (!id && ref) {
    const ns = obj.metadata.namespace ?? 'default';
    const fs = await fileSystems.get(ns, ref.name, signal);
    if (!fs)
      return {
        ready: false,
        reason: 'FileSystemNotFound',
        message: `FileSystem ${ns}/${ref.name} does not exist`,
        slow: true,
      };
    id = fs.status?.fileSystemID;
    if (!id)
      return {
        ready: false,
        reason: 'FileSystemNotReady',
        message: `FileSystem ${ns}/${ref.name} has no file system yet`,
        slow: false,
      };
    backendName ??= fs.status?.backend ?? fs.spec.backend;
  }
  if (!id) return { ready: false, reason: 'FileSystemNotFound', message: 'no file system named', slow: true };
  backendName ??= ctx.defaultBackend;
  const backend = await ctx.backends.get(backendName, signal);
  const info = await backend.describeFileSystem(id, signal);
  if (!info)
    return {
      ready: false,
      reason: 'FileSystemNotFound',
      message: `file system ${id} does not exist on ${backendName}`,
      slow: true,
    };
  if (info.lifecycle !== 'AVAILABLE')
    return {
      ready: false,
      reason: 'FileSystemNotReady',
      message: `file system ${id} is ${info.lifecycle}`,
      slow: false,
    };
  return { ready: true, fileSystemId: id, backendName, backend };
}
