// The shared FileSystem that holds sub-directory volumes: found, checked to be emulated and AVAILABLE.
import type { FileSystem } from '../../api/index.ts';
import { CsiError, invalidArgument } from '../csi-error.ts';
import type { SharedFs } from './dir-volumes.ts';
import { availableVolume } from './fs-volumes.ts';
import type { ControllerStores } from './stores.ts';

/** The shared FileSystem of a sub-directory volume, AVAILABLE on the emulated backend. */
export async function sharedFs(
  stores: ControllerStores,
  namespace: string,
  name: string,
  signal: AbortSignal,
): Promise<SharedFs> {
  const fs: FileSystem | undefined = await stores.fileSystems.get(namespace, name, signal);
  if (!fs) throw new CsiError('NotFound', `FileSystem ${namespace}/${name} does not exist`);
  const backend = fs.status?.backend ?? fs.spec.backend;
  if (backend === 'aws') {
    throw invalidArgument(
      `FileSystem ${namespace}/${name} is on aws: sub-directory volumes are made on emulated file systems (on aws, use a static PV with a sub-path)`,
    );
  }
  const v = availableVolume(fs, '');
  if (!v)
    throw new CsiError(
      'Unavailable',
      `FileSystem ${namespace}/${name} is not AVAILABLE yet (${fs.status?.lifecycle ?? 'no status'}); retry`,
    );
  return {
    namespace,
    name,
    fileSystemId: fs.status?.fileSystemID ?? '',
    dnsName: fs.status?.dnsName ?? '',
    mountName: fs.status?.mountName ?? '',
  };
}
