// The client's open files and their data path: handles, sizes from the MDS around reads and writes, striped I/O, truncation.
import { FsError } from '../../lib/errors.ts';
import type { Attr, FileHandle, Layout } from '../types.ts';
import { type InodeCache, type InodeState, untilAborted } from './inode-cache.ts';
import type { MdsSession } from './mds-session.ts';
import type { StripedIo } from './striped-io.ts';

export const O_ACCMODE = 0o3;
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const FALLOC_FL_KEEP_SIZE = 0x01;

export interface OpenFile {
  handle: FileHandle;
  /** The MDS's handle number. */
  mdsHandle: number;
  state: InodeState;
}

/**
 * Open handles of one client and the bytes behind them. Reads clamp to the size the MDS holds,
 * asking it again when a read reaches the remembered end of file (another client may have
 * written past it); writes go to the OSTs first, then tell the MDS a new end of file (coalesced
 * per inode) before resolving. Errors are FsErrors: EBADF for an unknown handle or the wrong
 * access mode, EINVAL for a bad range, the MDS's and OSS's errnos, EIO for lost servers.
 */
export class OpenFiles {
  readonly #mds: MdsSession;
  readonly #io: StripedIo;
  readonly #inodes: InodeCache;
  readonly #files = new Map<number, OpenFile>();
  #nextFh = 1;

  constructor(mds: MdsSession, io: StripedIo, inodes: InodeCache) {
    this.#mds = mds;
    this.#io = io;
    this.#inodes = inodes;
  }

  /** Registers a handle the MDS opened; with `truncate`, empties the file's objects first (EIO: handle released). */
  async opened(
    attr: Attr,
    layout: Layout | null,
    mdsHandle: number,
    flags: number,
    truncate: boolean,
    signal: AbortSignal | undefined,
  ): Promise<FileHandle> {
    const state = this.#inodes.get(attr.ino);
    state.opens++;
    state.layout = layout;
    state.size = attr.size;
    state.setId = (attr.mode & 0o6000) !== 0;
    const handle: FileHandle = { fh: this.#nextFh++, ino: attr.ino, flags };
    this.#files.set(handle.fh, { handle, mdsHandle, state });
    if (truncate && layout) {
      try {
        await this.#io.truncate(attr.ino, layout, 0, signal);
        await this.#mds.call('punched', { ino: attr.ino, size: 0 }, signal);
      } catch (err) {
        await this.release(handle, AbortSignal.timeout(2_000)).catch(() => undefined);
        throw err;
      }
    }
    return handle;
  }

  file(handle: FileHandle): OpenFile {
    const f = this.#files.get(handle.fh);
    if (!f || f.handle.ino !== handle.ino) throw new FsError('EBADF', `no open file ${handle.fh}`);
    return f;
  }

  handles(): FileHandle[] {
    return [...this.#files.values()].map((f) => f.handle);
  }

  async read(handle: FileHandle, offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    const f = this.file(handle);
    if ((handle.flags & O_ACCMODE) === O_WRONLY) throw new FsError('EBADF', 'not open for reading');
    checkRange(offset, length);
    let size = f.state.size;
    if (size === undefined || offset + length >= size)
      size = (await this.#freshAttr(handle.ino, signal)).size;
    const end = Math.min(offset + length, size);
    if (end <= offset) return Buffer.alloc(0);
    const layout = await this.layout(handle.ino, signal);
    if (!layout) return Buffer.alloc(end - offset);
    return await this.#io.read(handle.ino, layout, offset, end - offset, signal);
  }

  async write(handle: FileHandle, offset: number, data: Buffer, signal?: AbortSignal): Promise<number> {
    const f = this.file(handle);
    if ((handle.flags & O_ACCMODE) === O_RDONLY) throw new FsError('EBADF', 'not open for writing');
    if ((handle.flags & O_APPEND) === 0) return await this.#writeAt(f, offset, data, signal);
    const st = f.state;
    const turn = st.appendChain.then(async () => {
      if (data.length === 0) return 0;
      // The MDS hands out the range, so appenders on other clients never land on the same bytes.
      const attr = await this.#mds.mutate('reserveAppend', { ino: handle.ino, length: data.length }, signal);
      this.#inodes.noteGrowth(attr);
      return await this.#writeAt(f, attr.size - data.length, data, signal);
    });
    st.appendChain = turn.catch(() => undefined);
    return await turn;
  }

  async fsync(handle: FileHandle, signal?: AbortSignal): Promise<void> {
    const f = this.file(handle);
    const layout = await this.layout(handle.ino, signal);
    await Promise.all([
      layout ? this.#io.sync(handle.ino, layout, signal) : undefined,
      this.flushMtime(f.state, signal),
    ]);
  }

  /** Closes a handle on the MDS; the handle is gone locally even if the MDS call fails. */
  async release(handle: FileHandle, signal?: AbortSignal): Promise<void> {
    const f = this.file(handle);
    this.#files.delete(handle.fh);
    try {
      await this.flushMtime(f.state, signal);
      await this.#mds.mutate('release', { handle: f.mdsHandle }, signal);
    } finally {
      f.state.opens--;
      this.#inodes.drop(handle.ino);
    }
  }

  /** Mode 0 grows the size on the MDS; KEEP_SIZE changes nothing (objects are sparse files). */
  async fallocate(handle: FileHandle, mode: number, offset: number, length: number, signal?: AbortSignal) {
    const f = this.file(handle);
    if ((mode & ~FALLOC_FL_KEEP_SIZE) !== 0) throw new FsError('ENOTSUP', `fallocate mode ${mode}`);
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length <= 0) {
      throw new FsError('EINVAL', 'fallocate needs offset >= 0 and length > 0');
    }
    if ((handle.flags & O_ACCMODE) === O_RDONLY) throw new FsError('EBADF', 'not open for writing');
    if ((mode & FALLOC_FL_KEEP_SIZE) === 0) await this.#extend(f.state, offset + length, signal);
  }

  /** Punches every object of `ino` to its share of `size` (after the MDS recorded the size). */
  async truncateObjects(ino: number, size: number, signal?: AbortSignal): Promise<void> {
    const layout = await this.layout(ino, signal);
    if (layout) await this.#io.truncate(ino, layout, size, signal);
  }

  /** The inode's layout: remembered from open, else asked from the MDS. */
  async layout(ino: number, signal?: AbortSignal): Promise<Layout | null> {
    const st = this.#inodes.peek(ino);
    if (st?.layout !== undefined) return st.layout;
    const layout = await this.#mds.call('getLayout', { ino }, signal);
    if (st) st.layout = layout;
    return layout;
  }

  /** Sets mtime on the MDS once after writes that did not grow the file. */
  async flushMtime(st: InodeState, signal: AbortSignal | undefined): Promise<void> {
    if (st.mtimeDirty) await this.#extend(st, 0, signal);
  }

  async #writeAt(f: OpenFile, offset: number, data: Buffer, signal?: AbortSignal): Promise<number> {
    checkRange(offset, data.length);
    if (data.length === 0) return 0;
    const layout = await this.layout(f.handle.ino, signal);
    if (!layout) throw new FsError('EIO', `inode ${f.handle.ino} has no layout to write to`);
    await this.#io.write(f.handle.ino, layout, offset, data, signal);
    f.state.layoutFixed = true;
    const end = offset + data.length;
    const known = f.state.size;
    if (known === undefined || end > known) await this.#extend(f.state, end, signal);
    else f.state.mtimeDirty = true;
    return data.length;
  }

  async #extend(st: InodeState, end: number, signal: AbortSignal | undefined): Promise<void> {
    st.mtimeDirty = false;
    const attr = await untilAborted(st.extender.extend(end), signal, 'extendSize');
    this.#inodes.noteGrowth(attr);
  }

  async #freshAttr(ino: number, signal: AbortSignal | undefined): Promise<Attr> {
    const attr = await this.#mds.call('getattr', { ino }, signal);
    this.#inodes.noteAttr(attr);
    return attr;
  }
}

function checkRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new FsError('EINVAL', `bad range offset=${offset} length=${length}`);
  }
}
