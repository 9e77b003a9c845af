// The S3 data repository association of a file-system-per-volume volume: a DataRepositoryAssociation resource beside its FileSystem, at "/".
import { API_VERSION, type DataRepositoryAssociation } from '../../api/index.ts';
import { getCondition } from '../../controller/conditions.ts';
import { waitWithin } from '../../lib/wait-for.ts';
import { isKubeError } from '../../platform/kube-errors.ts';
import { CsiError } from '../csi-error.ts';
import type { AssociationParams } from './s3-parameters.ts';
import { terminalFailure } from './settling.ts';
import { ANNOTATION_NAME, type ControllerStores, LABEL_VOLUME } from './stores.ts';

/**
 * Creates (or finds again) the association named as the volume's FileSystem and returns once it is
 * AVAILABLE (its batch import done). Aborted while it is being created: the caller repeats
 * CreateVolume. An association the backend refuses (a missing bucket: MISCONFIGURED) is
 * InvalidArgument, and the association and its file system are deleted again, so a failed
 * CreateVolume leaves nothing behind.
 */
export async function ensureAssociation(
  deps: { stores: Pick<ControllerStores, 'associations' | 'fileSystems'>; namespace: string; waitMs: number },
  req: { objectName: string; csiName: string },
  params: AssociationParams,
  signal: AbortSignal,
): Promise<void> {
  const { associations, fileSystems } = deps.stores;
  const ns = deps.namespace;
  const name = req.objectName;
  if (!(await associations.get(ns, name, signal))) {
    const obj: DataRepositoryAssociation = {
      apiVersion: API_VERSION,
      kind: 'DataRepositoryAssociation',
      metadata: {
        name,
        namespace: ns,
        labels: { [LABEL_VOLUME]: 'true' },
        annotations: { [ANNOTATION_NAME]: req.csiName },
      },
      spec: { fileSystemRef: { name }, fileSystemPath: '/', ...params },
    };
    try {
      await associations.create(obj, signal);
    } catch (err) {
      if (!isKubeError(err, 'Conflict')) throw err;
    }
  }
  const settled = await waitWithin(
    `DataRepositoryAssociation ${ns}/${name} to settle`,
    async () => {
      const cur = await associations.get(ns, name, signal);
      if (!cur) return new CsiError('Aborted', `DataRepositoryAssociation ${ns}/${name} vanished; retry`);
      if (getCondition(cur.status?.conditions, 'Ready')?.status === 'True') return 'ready' as const;
      return terminalFailure(cur, 'data repository association');
    },
    { timeoutMs: deps.waitMs, intervalMs: 250, signal },
  );
  if (settled === 'ready') return;
  if (settled === undefined) {
    throw new CsiError(
      'Aborted',
      `volume "${req.csiName}": the S3 association ${ns}/${name} (${params.dataRepositoryPath}) is still importing; retry`,
    );
  }
  if (settled.code !== 'Aborted') {
    await associations.delete(ns, name, signal);
    await fileSystems.delete(ns, name, signal);
  }
  throw settled;
}
