// Test helpers over any FileSystemClient: build a sample tree (files, holes, links, xattrs, owners) and dump a tree for comparison.
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import {
  type FileSystemClient,
  ROOT_CREDENTIALS,
  ROOT_INO,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
} from '../../src/lustre/types.ts';

const cred = ROOT_CREDENTIALS;

export interface DumpedNode {
  type: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  mtimeMs: number;
  sha256?: string;
  target?: string;
  xattrs?: Record<string, string>;
}

async function writeAll(client: FileSystemClient, parent: number, name: string, data: Buffer, mode = 0o644) {
  const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT;
  const { attr, handle } = await client.create(cred, parent, name, mode, flags);
  if (data.length > 0) await client.write(handle, 0, data);
  await client.release(handle);
  return attr.ino;
}

/** Writes `data` over the file at `ino` from offset 0. */
export async function overwrite(
  client: FileSystemClient,
  ino: number,
  offset: number,
  data: Buffer,
): Promise<void> {
  const handle = await client.open(cred, ino, fsConstants.O_WRONLY);
  await client.write(handle, offset, data);
  await client.release(handle);
}

/** A tree with what a backup must keep: nested dirs, a multi-chunk file, a sparse file, a symlink, a hard link, a fifo, xattrs, owners, modes, times. */
export async function buildSampleTree(client: FileSystemClient): Promise<{ big: number }> {
  const docs = await client.mkdir(cred, ROOT_INO, 'docs', 0o750);
  const deep = await client.mkdir(cred, docs.ino, 'deep', 0o700);
  await writeAll(client, docs.ino, 'readme.txt', Buffer.from('hello nacre\n'));
  const bigData = Buffer.alloc(2.5 * 1024 * 1024);
  for (let i = 0; i < bigData.length; i += 4096) bigData.writeUInt32LE(i, i);
  const big = await writeAll(client, deep.ino, 'big.bin', bigData, 0o600);
  const sparse = await writeAll(client, ROOT_INO, 'sparse.img', Buffer.from('head'));
  await client.setattr(cred, sparse, { size: 3 * 1024 * 1024 });
  await overwrite(client, sparse, 2 * 1024 * 1024, Buffer.from('middle'));
  await client.symlink(cred, docs.ino, 'link-to-readme', 'readme.txt');
  await client.link(cred, big, ROOT_INO, 'big-hardlink');
  await client.mknod(cred, ROOT_INO, 'pipe', S_IFIFO | 0o640, 0);
  await client.setxattr(cred, big, 'user.origin', Buffer.from('test-suite'), 0);
  await client.setattr(cred, big, { uid: 1000, gid: 100 });
  await client.setattr(cred, docs.ino, { mtimeMs: Date.UTC(2020, 0, 1), atimeMs: Date.UTC(2020, 0, 1) });
  await writeAll(client, ROOT_INO, 'empty', Buffer.alloc(0));
  return { big };
}

async function readAll(client: FileSystemClient, ino: number): Promise<Buffer> {
  const handle = await client.open(cred, ino, fsConstants.O_RDONLY);
  const parts: Buffer[] = [];
  for (let off = 0; ; ) {
    const b = await client.read(handle, off, 1 << 20);
    if (b.length === 0) break;
    parts.push(b);
    off += b.length;
  }
  await client.release(handle);
  return Buffer.concat(parts);
}

/** Every path (except the root) with type, mode, owner, link count, size, mtime, content hash, symlink target, xattrs. */
export async function dumpTree(client: FileSystemClient): Promise<Record<string, DumpedNode>> {
  const out: Record<string, DumpedNode> = {};
  const dirs: [string, number][] = [['', ROOT_INO]];
  while (dirs.length) {
    const [dir, ino] = dirs.pop()!;
    for (let cookie = 0; ; ) {
      const batch = await client.readdir(cred, ino, cookie, 100, false);
      if (batch.length === 0) break;
      for (const e of batch) {
        cookie = e.cookie;
        if (e.name === '.' || e.name === '..') continue;
        const p = dir ? `${dir}/${e.name}` : e.name;
        const a = await client.getattr(e.ino);
        const type = a.mode & S_IFMT;
        const n: DumpedNode = {
          type,
          mode: a.mode & 0o7777,
          uid: a.uid,
          gid: a.gid,
          nlink: a.nlink,
          size: a.size,
          mtimeMs: a.mtimeMs,
        };
        if (type === S_IFREG)
          n.sha256 = createHash('sha256')
            .update(await readAll(client, e.ino))
            .digest('hex');
        if (type === S_IFLNK) n.target = await client.readlink(e.ino);
        const names = await client.listxattr(cred, e.ino);
        if (names.length) {
          n.xattrs = {};
          for (const x of names.sort())
            n.xattrs[x] = (await client.getxattr(cred, e.ino, x)).toString('base64');
        }
        out[p] = n;
        if (type === S_IFDIR) dirs.push([p, e.ino]);
      }
    }
  }
  return out;
}
