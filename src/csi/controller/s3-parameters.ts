// StorageClass parameters that link a file-system-per-volume volume to S3: the legacy ImportPath/ExportPath, or a data repository association on PERSISTENT_2.
import type { DataRepositoryAssociationSpec, LustreConfiguration } from '../../api/index.ts';
import { invalidArgument } from '../csi-error.ts';

export const S3_KEYS = [
  's3ImportPath',
  's3ExportPath',
  'autoImportPolicy',
  'autoExportPolicy',
  'importedFileChunkSize',
] as const;

type Event = 'NEW' | 'CHANGED' | 'DELETED';
type LegacyLink = Pick<
  LustreConfiguration,
  'importPath' | 'exportPath' | 'autoImportPolicy' | 'importedFileChunkSize'
>;
/** The DataRepositoryAssociation a volume gets (file system path "/"), without fileSystemRef. */
export type AssociationParams = Pick<
  DataRepositoryAssociationSpec,
  'dataRepositoryPath' | 'batchImportMetaDataOnCreate' | 'importedFileChunkSize' | 's3'
>;

export interface S3Link {
  /** Set in the FileSystem's lustreConfiguration (SCRATCH_1, SCRATCH_2, PERSISTENT_1). */
  legacy?: LegacyLink;
  /** A DataRepositoryAssociation created beside the FileSystem (PERSISTENT_2, where FSx has no ImportPath). */
  association?: AssociationParams;
}

const POLICY_NAMES = ['NONE', 'NEW', 'NEW_CHANGED', 'NEW_CHANGED_DELETED'] as const;
type Policy = (typeof POLICY_NAMES)[number];

/** FSx's AutoImportPolicy values and the events each stands for (autoExportPolicy is spelled the same way). */
const POLICIES: Record<Policy, Event[]> = {
  NONE: [],
  NEW: ['NEW'],
  NEW_CHANGED: ['NEW', 'CHANGED'],
  NEW_CHANGED_DELETED: ['NEW', 'CHANGED', 'DELETED'],
};

const S3_PATH = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/[^\r\n]*)?$/;

function bucketOf(key: string, value: string): string {
  const m = S3_PATH.exec(value);
  if (!m?.[1] || value.length > 4357) {
    throw invalidArgument(
      `parameter ${key}="${value}" must be an S3 URI, s3://bucket or s3://bucket/prefix, with a valid bucket name`,
    );
  }
  return m[1];
}

function policy(key: string, value: string): Policy {
  const known = POLICY_NAMES.find((name) => name === value);
  if (!known) throw invalidArgument(`parameter ${key}="${value}" must be one of ${POLICY_NAMES.join(', ')}`);
  return known;
}

function chunkSize(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 1 || n > 512000) {
    throw invalidArgument(
      `parameter importedFileChunkSize="${value}" must be an integer from 1 to 512000 (MiB)`,
    );
  }
  return n;
}

const trimSlash = (path: string) => path.replace(/\/+$/, '');

/**
 * Reads the S3 parameters. InvalidArgument names the parameter: a malformed S3 URI or policy, an
 * export path in another bucket, a policy or chunk size without s3ImportPath, autoExportPolicy
 * where FSx has no association (anything but PERSISTENT_2). Undefined when none is set.
 */
export function parseS3Link(
  p: Record<string, string>,
  deploymentType: string | undefined,
): S3Link | undefined {
  const given = S3_KEYS.filter((k) => p[k] !== undefined);
  if (given.length === 0) return undefined;
  const importPath = p['s3ImportPath'];
  if (importPath === undefined) {
    throw invalidArgument(`parameter ${given[0]} requires s3ImportPath (the S3 URI the volume is linked to)`);
  }
  const bucket = bucketOf('s3ImportPath', importPath);
  const exportPath = p['s3ExportPath'];
  if (exportPath !== undefined && bucketOf('s3ExportPath', exportPath) !== bucket) {
    throw invalidArgument(
      `parameter s3ExportPath="${exportPath}" must be in the bucket of s3ImportPath (${bucket})`,
    );
  }
  const autoImport =
    p['autoImportPolicy'] === undefined ? undefined : policy('autoImportPolicy', p['autoImportPolicy']);
  const autoExport =
    p['autoExportPolicy'] === undefined ? undefined : policy('autoExportPolicy', p['autoExportPolicy']);
  const chunk = p['importedFileChunkSize'] === undefined ? undefined : chunkSize(p['importedFileChunkSize']);
  if (deploymentType !== 'PERSISTENT_2') {
    if (autoExport !== undefined) {
      throw invalidArgument(
        `parameter autoExportPolicy needs deploymentType PERSISTENT_2 (a data repository association); ${deploymentType ?? 'SCRATCH_1 (the default)'} exports through s3ExportPath and export tasks`,
      );
    }
    const legacy: LegacyLink = { importPath };
    if (exportPath !== undefined) legacy.exportPath = exportPath;
    if (autoImport !== undefined) legacy.autoImportPolicy = autoImport;
    if (chunk !== undefined) legacy.importedFileChunkSize = chunk;
    return { legacy };
  }
  if (exportPath !== undefined && trimSlash(exportPath) !== trimSlash(importPath)) {
    throw invalidArgument(
      `parameter s3ExportPath="${exportPath}": on PERSISTENT_2 the volume's data repository association imports from and exports to one path; set it to s3ImportPath or leave it out`,
    );
  }
  const association: AssociationParams = {
    dataRepositoryPath: importPath,
    batchImportMetaDataOnCreate: true,
  };
  if (chunk !== undefined) association.importedFileChunkSize = chunk;
  const s3: NonNullable<AssociationParams['s3']> = {};
  if (autoImport !== undefined && autoImport !== 'NONE')
    s3.autoImportPolicy = { events: POLICIES[autoImport] };
  if (autoExport !== undefined && autoExport !== 'NONE')
    s3.autoExportPolicy = { events: POLICIES[autoExport] };
  if (Object.keys(s3).length > 0) association.s3 = s3;
  return { association };
}
