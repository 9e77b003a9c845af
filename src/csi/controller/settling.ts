// How a resource the CSI controller waits for has failed for good: the gRPC code and message its status calls for.
import type { DataRepositoryAssociation, FileSystem } from '../../api/index.ts';
import { CsiError } from '../csi-error.ts';

/** What terminalFailure reads: a FileSystem's or a DataRepositoryAssociation's status. */
interface Settling {
  metadata: { name: string };
  status?: FileSystem['status'] | DataRepositoryAssociation['status'];
}

/** Why the operator cannot make this file system (or association), when that will not change by waiting. */
export function terminalFailure(obj: Settling, noun = 'file system'): CsiError | undefined {
  const s = obj.status;
  const name = obj.metadata.name;
  const synced = s?.conditions?.find((c) => c.type === 'Synced');
  const ready = s?.conditions?.find((c) => c.type === 'Ready');
  const detail = s?.failureDetails?.message ?? synced?.message ?? ready?.message ?? '';
  if (s?.lifecycle === 'FAILED' || s?.lifecycle === 'MISCONFIGURED') {
    return new CsiError('InvalidArgument', `${noun} ${name} ${s.lifecycle}: ${detail}`);
  }
  if (synced?.status === 'False' && (synced.reason === 'InvalidRequest' || synced.reason === 'Unsupported')) {
    return new CsiError('InvalidArgument', `the backend refused ${noun} ${name}: ${detail}`);
  }
  if (synced?.status === 'False' && synced.reason === 'LimitExceeded') {
    return new CsiError('ResourceExhausted', `the backend has no room for ${noun} ${name}: ${detail}`);
  }
  return undefined;
}

/**
 * Whether a file system's legacy S3 link (lustreConfiguration.importPath) is ready: true without
 * one or once AVAILABLE (its import at creation done), false while it is being made, and
 * InvalidArgument with the backend's reason when it failed.
 */
export function dataRepositoryReady(fs: FileSystem): boolean | CsiError {
  const path = fs.spec.lustreConfiguration?.importPath;
  if (path === undefined) return true;
  const link = fs.status?.dataRepository;
  if (link?.lifecycle === 'AVAILABLE' || link?.lifecycle === 'UPDATING') return true;
  if (link?.lifecycle === 'FAILED' || link?.lifecycle === 'MISCONFIGURED') {
    return new CsiError(
      'InvalidArgument',
      `the S3 link of file system ${fs.metadata.name} (${path}) is ${link.lifecycle}: ${link.failureDetails?.message ?? ''}`,
    );
  }
  return false;
}
