// FSx's rules for data repository paths: FileSystemPath and DataRepositoryPath forms, overlaps, the 8-association limit, task paths.
import { badRequest } from './http/api-error.ts';
import type { FileSystemRecord } from './model.ts';
import type { AssociationRecord, DataRepositoryAssociation } from './repository-model.ts';

/** Associations per file system (FSx: 8). */
export const MAX_ASSOCIATIONS = 8;
export const DEFAULT_CHUNK_MIB = 1024;

/** "/a/b/" → "/a/b"; "/" stays "/". Refuses a path without the leading slash, with empty, "." or ".." parts. */
export function normaliseFileSystemPath(p: string, member = 'FileSystemPath'): string {
  if (!p.startsWith('/')) throw badRequest(`${member} '${p}' must begin with a forward slash (/).`);
  const parts = p.split('/').filter((x, i, a) => !(x === '' && (i === 0 || i === a.length - 1)));
  if (parts.some((x) => x === '' || x === '.' || x === '..'))
    throw badRequest(`${member} '${p}' must not contain empty, '.' or '..' components.`);
  if (parts.some((x) => Buffer.byteLength(x) > 255))
    throw badRequest(`${member} '${p}' has a component longer than 255 bytes.`);
  return `/${parts.join('/')}`;
}

export interface S3Location {
  bucket: string;
  /** "" or "prefix/" (always ends with "/"). */
  prefix: string;
}

/** Parses "s3://bucket[/prefix[/]]" into a bucket and a "/"-terminated prefix; refuses anything else. */
export function parseS3Path(url: string, member = 'DataRepositoryPath'): S3Location {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  if (!m) throw badRequest(`${member} '${url}' must be an S3 path of the form s3://bucket/prefix/.`);
  const bucket = m[1]!;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..'))
    throw badRequest(`${member} '${url}' does not name a valid S3 bucket ('${bucket}').`);
  let prefix = m[2] ?? '';
  if (prefix.split('/').some((x, i, a) => x === '' && i < a.length - 1))
    throw badRequest(`${member} '${url}' must not contain empty path components (//).`);
  if (prefix && !prefix.endsWith('/')) prefix += '/';
  return { bucket, prefix };
}

export function formatS3Path(loc: S3Location): string {
  return `s3://${loc.bucket}/${loc.prefix}`;
}

/** Whether one path is the other or inside it (component-wise). */
function nested(a: string, b: string): boolean {
  const inside = (x: string, y: string) => x === y || y === '/' || x.startsWith(`${y}/`);
  return inside(a, b) || inside(b, a);
}

function s3Nested(a: S3Location, b: S3Location): boolean {
  return a.bucket === b.bucket && (a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix));
}

/** Associations of a file system that are not being deleted. */
export function liveAssociations(all: Record<string, AssociationRecord>, fsId: string): AssociationRecord[] {
  return Object.values(all).filter(
    (r) => r.dra.FileSystemId === fsId && !(r.job?.kind === 'delete' || r.dra.Lifecycle === 'DELETING'),
  );
}

/** The rules a new association must meet against the file system and its other associations. */
export function checkNewAssociation(
  fs: FileSystemRecord,
  others: readonly AssociationRecord[],
  path: string,
  repo: S3Location,
): void {
  const f = fs.fs;
  const d = f.LustreConfiguration.DeploymentType;
  if (d === 'SCRATCH_1' || f.FileSystemTypeVersion === '2.10')
    throw badRequest(
      `Data repository associations are not supported on ${d} file systems with Lustre ${f.FileSystemTypeVersion}; use a PERSISTENT or SCRATCH_2 file system with Lustre 2.12 or later.`,
    );
  if (f.Lifecycle !== 'AVAILABLE' && f.Lifecycle !== 'UPDATING')
    throw badRequest(`File system ${f.FileSystemId} is ${f.Lifecycle}; it must be AVAILABLE.`);
  if (others.length >= MAX_ASSOCIATIONS)
    throw badRequest(
      `File system ${f.FileSystemId} already has ${MAX_ASSOCIATIONS} data repository associations, the most it can have.`,
    );
  if (path === '/' && others.length > 0)
    throw badRequest(
      'FileSystemPath "/" can only be used by the first data repository association of a file system.',
    );
  for (const o of others) {
    if (nested(path, o.dra.FileSystemPath))
      throw badRequest(
        `FileSystemPath ${path} overlaps ${o.dra.FileSystemPath} of data repository association ${o.dra.AssociationId}.`,
      );
    if (s3Nested(repo, parseS3Path(o.dra.DataRepositoryPath)))
      throw badRequest(
        `DataRepositoryPath ${formatS3Path(repo)} overlaps ${o.dra.DataRepositoryPath} of data repository association ${o.dra.AssociationId}.`,
      );
  }
}

/** The association a file system path (normalised) falls in, if any. */
export function associationOf(
  associations: readonly DataRepositoryAssociation[],
  path: string,
): DataRepositoryAssociation | undefined {
  return associations.find(
    (a) => a.FileSystemPath === '/' || path === a.FileSystemPath || path.startsWith(`${a.FileSystemPath}/`),
  );
}
