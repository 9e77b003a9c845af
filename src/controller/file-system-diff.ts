// Which of a FileSystem spec's changeable settings differ from the file system the backend reports: the UpdateFileSystem to send.
import { isDeepStrictEqual } from 'node:util';
import type { FileSystemSpec, LustreConfiguration } from '../api/index.ts';
import type { FileSystemInfo, FileSystemLustreUpdate, FileSystemUpdate } from '../fsx/backend.ts';

type Updatable = keyof FileSystemLustreUpdate;

const SCALARS = [
  'weeklyMaintenanceStartTime',
  'dailyAutomaticBackupStartTime',
  'automaticBackupRetentionDays',
  'autoImportPolicy',
  'dataCompressionType',
  'perUnitStorageThroughput',
  'throughputCapacity',
] as const satisfies readonly Updatable[];

const OBJECTS = [
  'logConfiguration',
  'rootSquashConfiguration',
  'metadataConfiguration',
  'dataReadCacheConfiguration',
] as const satisfies readonly Updatable[];

/** What FSx reports when a setting was never set. */
const IMPLICIT: Partial<Record<Updatable, unknown>> = {
  dataCompressionType: 'NONE',
  autoImportPolicy: 'NONE',
  automaticBackupRetentionDays: 0,
};

/** FSx accepts d:HH:MM and d:HHMM alike. */
function normal(key: string, v: unknown): unknown {
  return typeof v === 'string' && key.endsWith('Time') ? v.replace(/:/g, '') : v;
}

/** Every member the spec sets has the same value in `current` (arrays compared as sets). */
function subsetEqual(want: object, current: unknown): boolean {
  if (current === null || typeof current !== 'object') return false;
  const cur = current as Record<string, unknown>;
  return Object.entries(want).every(([k, v]) => {
    if (v === undefined) return true;
    const c = cur[k];
    if (Array.isArray(v) && Array.isArray(c)) return isDeepStrictEqual([...v].sort(), [...c].sort());
    return isDeepStrictEqual(v, c);
  });
}

export interface FileSystemDiff {
  update: FileSystemUpdate;
  /** One line per change, for Events and logs ("storageCapacity 1200 → 2400"). */
  changes: string[];
}

/** The update that brings `current` to `spec`; empty when they agree. Capacity only grows. */
export function fileSystemDiff(spec: FileSystemSpec, current: FileSystemInfo): FileSystemDiff {
  const update: FileSystemUpdate = {};
  const changes: string[] = [];
  if (
    spec.storageCapacity !== undefined &&
    current.storageCapacity !== undefined &&
    spec.storageCapacity > current.storageCapacity
  ) {
    update.storageCapacity = spec.storageCapacity;
    changes.push(`storageCapacity ${current.storageCapacity} → ${spec.storageCapacity}`);
  }
  if (
    spec.fileSystemTypeVersion !== undefined &&
    spec.fileSystemTypeVersion !== current.fileSystemTypeVersion
  ) {
    update.fileSystemTypeVersion = spec.fileSystemTypeVersion;
    changes.push(
      `fileSystemTypeVersion ${current.fileSystemTypeVersion ?? '?'} → ${spec.fileSystemTypeVersion}`,
    );
  }
  const want: Partial<LustreConfiguration> = spec.lustreConfiguration ?? {};
  const have = current.lustre;
  const lustre: FileSystemLustreUpdate = {};
  const set = (k: Updatable, v: unknown) => {
    (lustre as Record<string, unknown>)[k] = v;
  };
  for (const k of SCALARS) {
    const w = want[k];
    if (w === undefined) continue;
    const h = have[k] ?? IMPLICIT[k];
    if (normal(k, w) !== normal(k, h)) {
      set(k, w);
      changes.push(`lustreConfiguration.${k} ${String(h ?? '(unset)')} → ${String(w)}`);
    }
  }
  for (const k of OBJECTS) {
    const w = want[k];
    if (w === undefined || subsetEqual(w, have[k])) continue;
    set(k, w);
    changes.push(`lustreConfiguration.${k} → ${JSON.stringify(w)}`);
  }
  if (Object.keys(lustre).length > 0) update.lustreConfiguration = lustre;
  return { update, changes };
}
