// A volume restored from a snapshot into a larger claim: FSx restores at the backup's size, so the file system is grown to the smallest valid step that holds the claim.
import type { Backup, FileSystem, FileSystemSpec } from '../../api/index.ts';
import { waitWithin } from '../../lib/wait-for.ts';
import { CsiError } from '../csi-error.ts';
import type { Volume } from '../proto.ts';
import { GIB, type Range, roundUpGiB } from './capacity.ts';
import { terminalFailure } from './settling.ts';
import { ANNOTATION_SIZE_GIB, type ControllerStores } from './stores.ts';

export interface GrowDeps {
  stores: ControllerStores;
  namespace: string;
  waitMs: number;
}

/** The FileSystem's spec with its deployment type (a restore takes it from the backup: it is only in the status). */
function specWithDeployment(fs: FileSystem): FileSystemSpec {
  const deploymentType = (fs.spec.lustreConfiguration?.deploymentType ?? fs.status?.deploymentType) as
    | NonNullable<FileSystemSpec['lustreConfiguration']>['deploymentType']
    | undefined;
  return deploymentType
    ? { ...fs.spec, lustreConfiguration: { ...fs.spec.lustreConfiguration, deploymentType } }
    : fs.spec;
}

/**
 * OutOfRange before anything is made when the snapshot's recorded size (or the step the claim
 * needs above it) cannot fit the limit. Snapshots without the recorded size are checked after the restore.
 */
export function restoreRangeCheck(backup: Backup, range: Range): CsiError | undefined {
  const gib = Number(backup.metadata?.annotations?.[ANNOTATION_SIZE_GIB] ?? Number.NaN);
  if (!Number.isSafeInteger(gib) || gib <= 0 || range.limit === 0) return undefined;
  if (gib * GIB > range.limit)
    return new CsiError(
      'OutOfRange',
      `the snapshot has ${gib * GIB} bytes, above the limit of ${range.limit}: allow at least the snapshot's size`,
    );
  return undefined;
}

/**
 * The restored volume at a capacity within the requested range: as restored when it fits;
 * otherwise grown (UpdateFileSystem through the operator) to the smallest valid FSx step that
 * holds the claim, and returned once AVAILABLE at that size. Aborted while it grows (a repeat
 * finds the same FileSystem and waits again). OutOfRange when the snapshot is above the limit or
 * the step the claim needs is; FailedPrecondition for a deployment type that cannot grow; the
 * caller deletes the file system on any error but Aborted (the volume was never returned).
 */
export async function growRestored(
  deps: GrowDeps,
  name: string,
  range: Range,
  restored: Volume,
  signal: AbortSignal,
): Promise<Volume> {
  const bytes = Number(restored.capacityBytes);
  if (range.limit !== 0 && bytes > range.limit) {
    throw new CsiError(
      'OutOfRange',
      `the restored file system has ${bytes} bytes, above the limit of ${range.limit}: allow at least the snapshot's size`,
    );
  }
  if (bytes >= range.required) return restored;
  const { fileSystems } = deps.stores;
  const ns = deps.namespace;
  const fs = await fileSystems.get(ns, name, signal);
  if (!fs) throw new CsiError('Aborted', `FileSystem ${ns}/${name} vanished while being restored; retry`);
  const spec = specWithDeployment(fs);
  const deploymentType = spec.lustreConfiguration?.deploymentType;
  if (deploymentType === 'SCRATCH_1') {
    throw new CsiError(
      'FailedPrecondition',
      `the snapshot restores at ${bytes} bytes and a SCRATCH_1 file system cannot grow to the ${range.required} required: ask for at most the snapshot's size`,
    );
  }
  const wanted = roundUpGiB(range.required, spec);
  if (range.limit !== 0 && wanted * GIB > range.limit) {
    throw new CsiError(
      'OutOfRange',
      `the snapshot restores at ${bytes} bytes; the next valid capacity above the ${range.required} required is ${wanted} GiB (${wanted * GIB} bytes), above the limit of ${range.limit}: raise the limit or ask for at most the snapshot's size`,
    );
  }
  if ((fs.spec.storageCapacity ?? 0) < wanted) {
    await fileSystems.mergePatch(ns, name, { spec: { storageCapacity: wanted } }, signal);
  }
  const grown = await waitWithin(
    `FileSystem ${ns}/${name} to grow to ${wanted} GiB`,
    async () => {
      const cur = await fileSystems.get(ns, name, signal);
      if (!cur) return new CsiError('Aborted', `FileSystem ${ns}/${name} vanished while growing; retry`);
      const cap = cur.status?.storageCapacity ?? 0;
      if (cur.status?.lifecycle === 'AVAILABLE' && cap >= wanted)
        return { ...restored, capacityBytes: String(cap * GIB) };
      return terminalFailure(cur);
    },
    { timeoutMs: deps.waitMs, intervalMs: 250, signal },
  );
  if (grown === undefined) {
    throw new CsiError(
      'Aborted',
      `the file system restored for volume ${name} is growing from ${bytes} bytes to ${wanted} GiB; retry`,
    );
  }
  if (grown instanceof CsiError) throw grown;
  return grown;
}
