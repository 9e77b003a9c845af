// CSI volume IDs: mode, FileSystem resource and sub-path encoded in the ID, so every call works from the ID alone.
import { createHash } from 'node:crypto';
import { invalidArgument } from './csi-error.ts';

/**
 * The three kinds of Nacre volume and their IDs (at most 128 bytes, as the CSI spec allows):
 * - `fs/<namespace>/<fileSystem>`: a file system made for this volume (a FileSystem resource the
 *   driver created); DeleteVolume deletes the FileSystem.
 * - `dir/<namespace>/<fileSystem>/<dir>`: a directory `<dir>` at the root of a shared FileSystem;
 *   DeleteVolume removes, keeps or archives the directory (StorageClass `onDelete`).
 * - `static/<namespace>/<fileSystem>[/<sub/path>]`: an existing FileSystem (its root or a
 *   sub-path) named by a statically created PV; the driver never deletes anything of it.
 */
export type VolumeId =
  | { kind: 'fs'; namespace: string; fileSystem: string }
  | { kind: 'dir'; namespace: string; fileSystem: string; dir: string }
  | { kind: 'static'; namespace: string; fileSystem: string; subPath: string };

export const MAX_ID_BYTES = 128;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const PATH_PART = /^[A-Za-z0-9._-]{1,255}$/;

export function formatVolumeId(id: VolumeId): string {
  switch (id.kind) {
    case 'fs':
      return `fs/${id.namespace}/${id.fileSystem}`;
    case 'dir':
      return `dir/${id.namespace}/${id.fileSystem}/${id.dir}`;
    case 'static':
      return `static/${id.namespace}/${id.fileSystem}${id.subPath ? `/${id.subPath}` : ''}`;
  }
}

function checkSubPath(sub: string, whole: string): string {
  const parts = sub.split('/');
  if (parts.some((p) => !PATH_PART.test(p) || p === '.' || p === '..')) {
    throw invalidArgument(
      `volume ID "${whole}": sub-path "${sub}" must be /-separated names of letters, digits, ".", "_" or "-" (no "." or ".." parts)`,
    );
  }
  return sub;
}

/** Parses a volume ID; InvalidArgument (saying which form is wanted) when it is not one of Nacre's. */
export function parseVolumeId(text: string): VolumeId {
  if (text === '') throw invalidArgument('volume ID is required');
  const [kind, namespace = '', fileSystem = '', ...rest] = text.split('/');
  const bad = (why: string) =>
    invalidArgument(
      `volume ID "${text}" is not a Nacre volume ID (${why}): want fs/<namespace>/<fileSystem>, dir/<namespace>/<fileSystem>/<dir> or static/<namespace>/<fileSystem>[/<sub-path>]`,
    );
  if (kind !== 'fs' && kind !== 'dir' && kind !== 'static') throw bad(`unknown kind "${kind}"`);
  if (!DNS_LABEL.test(namespace)) throw bad(`"${namespace}" is not a namespace name`);
  if (!DNS_SUBDOMAIN.test(fileSystem)) throw bad(`"${fileSystem}" is not a FileSystem name`);
  if (kind === 'fs') {
    if (rest.length > 0) throw bad('fs/ IDs have no sub-path');
    return { kind, namespace, fileSystem };
  }
  if (kind === 'dir') {
    const [dir] = rest;
    if (rest.length !== 1 || dir === undefined) throw bad('dir/ IDs name exactly one directory');
    return { kind, namespace, fileSystem, dir: checkSubPath(dir, text) };
  }
  const subPath = rest.join('/');
  return { kind, namespace, fileSystem, subPath: subPath === '' ? '' : checkSubPath(subPath, text) };
}

/**
 * A Kubernetes object name (and directory name) for a CSI volume or snapshot name: the name itself
 * when it is already a valid DNS label, else a sanitised prefix and a hash of the whole name, so
 * the same CSI name always maps to the same object and different names never collide.
 */
export function objectNameFor(csiName: string): string {
  if (DNS_LABEL.test(csiName) && csiName.length <= 63) return csiName;
  const hash = createHash('sha256').update(csiName).digest('hex').slice(0, 16);
  const prefix = csiName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 46)
    .replace(/-+$/, '');
  return prefix ? `${prefix}-${hash}` : `v-${hash}`;
}

/** The volume context keys the controller sets and the node plugin reads (`PV.spec.csi.volumeAttributes`). */
export const VOLUME_CONTEXT = {
  /** aws | emulated */
  backend: 'backend',
  /** DNS name of the file system (host of the MGS for emulated, host:port allowed). */
  dnsName: 'dnsName',
  /** Lustre mount name (the emulated file system's fsname). */
  mountName: 'mountName',
  /** Directory inside the file system to publish, relative, no leading slash; "" for the root. */
  subPath: 'subPath',
  fileSystemId: 'fileSystemId',
  /** The FileSystem resource: namespace and name. */
  fileSystemNamespace: 'fileSystemNamespace',
  fileSystemName: 'fileSystemName',
} as const;
