// Capacity arithmetic of CreateVolume and ControllerExpandVolume: CSI byte ranges ↔ FSx GiB steps and quota bytes.
import type { FileSystemSpec } from '../../api/index.ts';
import { CsiError } from '../csi-error.ts';
import type { CapacityRange } from '../proto.ts';

export const GIB = 1024 ** 3;

/** Bytes of a CSI int64 field (the generated types carry int64 as a decimal string). */
export function bytesOf(v: string | number | undefined | null): number {
  const n = Number(v ?? 0);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new CsiError('OutOfRange', `capacity ${String(v)} bytes is not a valid size`);
  return n;
}

export interface Range {
  required: number;
  /** 0: no limit. */
  limit: number;
}

export function rangeOf(r: CapacityRange | null | undefined): Range {
  const required = bytesOf(r?.requiredBytes);
  const limit = bytesOf(r?.limitBytes);
  if (limit !== 0 && limit < required) {
    throw new CsiError('OutOfRange', `capacity limit ${limit} bytes is below the required ${required} bytes`);
  }
  return { required, limit };
}

/** FSx's storage capacity steps for a deployment (SCRATCH_1: 1200, 2400, ×3600; HDD: ×6000 or ×1800; else 1200, ×2400). */
export function capacitySteps(spec: FileSystemSpec): { first: number[]; step: number } {
  const lc = spec.lustreConfiguration;
  if (spec.storageType === 'HDD') {
    const step = lc?.perUnitStorageThroughput === 12 ? 6000 : 1800;
    return { first: [], step };
  }
  if ((lc?.deploymentType ?? 'SCRATCH_1') === 'SCRATCH_1') return { first: [1200, 2400], step: 3600 };
  return { first: [1200], step: 2400 };
}

/** The smallest valid FSx capacity in GiB that holds `bytes`. */
export function roundUpGiB(bytes: number, spec: FileSystemSpec): number {
  const gib = Math.max(1, Math.ceil(bytes / GIB));
  const { first, step } = capacitySteps(spec);
  for (const c of first) if (gib <= c) return c;
  return Math.ceil(gib / step) * step;
}

/** The FSx capacity (GiB) for a CSI range: OutOfRange when the smallest valid step exceeds the limit. */
export function fileSystemCapacityGiB(range: Range, spec: FileSystemSpec): number {
  const gib = roundUpGiB(range.required, spec);
  if (range.limit !== 0 && gib * GIB > range.limit) {
    throw new CsiError(
      'OutOfRange',
      `a file system per volume has at least ${gib} GiB (${gib * GIB} bytes) for this deployment type, above the limit of ${range.limit} bytes: raise the limit or use a sub-directory volume (fileSystemName)`,
    );
  }
  return gib;
}

/** Default size of a sub-directory volume whose request names none. */
export const DEFAULT_DIR_BYTES = GIB;

/** The quota in bytes for a sub-directory volume: what is required, else the limit, else 1 GiB. */
export function dirQuotaBytes(range: Range): number {
  if (range.required > 0) return range.required;
  if (range.limit > 0) return Math.min(range.limit, DEFAULT_DIR_BYTES);
  return DEFAULT_DIR_BYTES;
}
