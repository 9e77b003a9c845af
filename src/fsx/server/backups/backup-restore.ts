// Restoring a backup manifest into an empty file system through the client port: tree, content, links, owners, modes, times, xattrs.

import { constants as fsConstants } from 'node:fs';
import { NacreError } from '../../../lib/errors.ts';
import { type FileSystemClient, ROOT_CREDENTIALS, ROOT_INO, S_IFMT } from '../../../lustre/types.ts';
import type { BackupStore, Manifest, ManifestEntry } from './backup-store.ts';

const cred = ROOT_CREDENTIALS;

function split(p: string): { parent: string; name: string } {
  const i = p.lastIndexOf('/');
  return i < 0 ? { parent: '', name: p } : { parent: p.slice(0, i), name: p.slice(i + 1) };
}

/**
 * Writes the manifest's tree into the file system, whose root must be empty. Directories get their
 * modes, owners and times last (after their children), so restored times are those of the backup.
 * ctime is set last of all (root may set it, for this): a file's after its last hard link.
 */
export async function restoreBackup(
  client: FileSystemClient,
  store: BackupStore,
  manifest: Manifest,
  signal: AbortSignal,
  onProgress?: (bytes: number) => void,
): Promise<void> {
  const inos = new Map<string, number>([['', ROOT_INO]]);
  const dirs: ManifestEntry[] = [];
  let bytes = 0;
  for (const e of manifest.entries) {
    signal.throwIfAborted();
    if (e.path === '') {
      dirs.push(e);
      continue;
    }
    const { parent, name } = split(e.path);
    const parentIno = inos.get(parent);
    if (parentIno === undefined)
      throw new NacreError('CorruptBackup', `backup manifest lists ${e.path} before its directory`);
    if (e.linkOf !== undefined) {
      const target = inos.get(e.linkOf);
      if (target === undefined)
        throw new NacreError('CorruptBackup', `backup manifest links ${e.path} to unknown ${e.linkOf}`);
      await client.link(cred, target, parentIno, name, signal);
      continue;
    }
    const ino = await createNode(client, store, e, parentIno, name, signal, (n) => {
      bytes += n;
      onProgress?.(bytes);
    });
    inos.set(e.path, ino);
    await restoreXattrs(client, ino, e, signal);
    if (e.type === 'dir') dirs.push(e);
    else await restoreAttrs(client, ino, e, signal);
  }
  // A hard link made after its file's attributes changed the file's ctime: set it again.
  const linked = new Set(manifest.entries.flatMap((e) => (e.linkOf === undefined ? [] : [e.linkOf])));
  for (const e of manifest.entries) {
    if (linked.has(e.path)) await client.setattr(cred, inos.get(e.path)!, { ctimeMs: e.ctimeMs }, signal);
  }
  for (const d of dirs.reverse()) {
    const ino = inos.get(d.path)!;
    if (d.path === '') await restoreXattrs(client, ino, d, signal);
    await restoreAttrs(client, ino, d, signal);
  }
}

async function createNode(
  client: FileSystemClient,
  store: BackupStore,
  e: ManifestEntry,
  parent: number,
  name: string,
  signal: AbortSignal,
  progress: (bytes: number) => void,
): Promise<number> {
  const perm = e.mode & 0o7777;
  switch (e.type) {
    case 'dir':
      return (await client.mkdir(cred, parent, name, perm, signal)).ino;
    case 'symlink':
      return (await client.symlink(cred, parent, name, e.target ?? '', signal)).ino;
    case 'file':
      return await writeFile(client, store, e, parent, name, signal, progress);
    default:
      return (await client.mknod(cred, parent, name, e.mode & (S_IFMT | 0o7777), e.rdev ?? 0, signal)).ino;
  }
}

async function writeFile(
  client: FileSystemClient,
  store: BackupStore,
  e: ManifestEntry,
  parent: number,
  name: string,
  signal: AbortSignal,
  progress: (bytes: number) => void,
): Promise<number> {
  const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL;
  const { attr, handle } = await client.create(cred, parent, name, e.mode & 0o7777, flags, signal);
  try {
    let offset = 0;
    for (const c of e.chunks ?? []) {
      if (!c.zero) {
        const data = await store.getChunk(c.hash);
        await client.write(handle, offset, data, signal);
        progress(data.length);
      }
      offset += c.length;
    }
    // Trailing zero chunks were not written: the size makes them a hole.
    if (offset > 0 || e.size > 0) await client.setattr(cred, attr.ino, { size: e.size }, signal);
    await client.fsync(handle, false, signal);
  } finally {
    await client.release(handle, signal);
  }
  return attr.ino;
}

async function restoreXattrs(client: FileSystemClient, ino: number, e: ManifestEntry, signal: AbortSignal) {
  for (const [name, value] of Object.entries(e.xattrs ?? {}))
    await client.setxattr(cred, ino, name, Buffer.from(value, 'base64'), 0, signal);
}

async function restoreAttrs(client: FileSystemClient, ino: number, e: ManifestEntry, signal: AbortSignal) {
  await client.setattr(cred, ino, { uid: e.uid, gid: e.gid }, signal);
  // After chown, which may clear set-id bits; symlinks have no mode of their own.
  const times = { atimeMs: e.atimeMs, mtimeMs: e.mtimeMs, ctimeMs: e.ctimeMs };
  const changes = e.type === 'symlink' ? times : { mode: e.mode & 0o7777, ...times };
  await client.setattr(cred, ino, changes, signal);
}
