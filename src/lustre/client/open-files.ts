// The client's open files and their data path: handles, sizes from the MDS and the OSTs, striped I/O, truncation.
import { FsError } from '../../lib/errors.ts';
import type { RequestKey } from '../protocol/request-key.ts';
import type { Attr, FileHandle, Layout, QuotaGrant } from '../types.ts';
import { type InodeCache, type InodeState, untilAborted } from './inode-cache.ts';
import type { MdsSession } from './mds-session.ts';
import { QuotaGrants } from './quota-grants.ts';
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
 * Open handles of one client and the bytes behind them. Reads clamp to the file size, asked again
 * when a read reaches the remembered end of file (another client may have written past it): the
 * MDS's size, or while some client has the file open for writing, the largest object end on the
 * OSTs (Lustre's glimpse). Writes go to the OSTs only; the MDS learns the new size and mtime at
 * close(2), fsync, release and this client's getattr, as Lustre's MDS does. Errors are FsErrors: EBADF for an unknown handle or the wrong
 * access mode, EINVAL for a bad range, the MDS's and OSS's errnos, EIO for lost servers.
 */
export class OpenFiles {
  readonly #mds: MdsSession;
  readonly #io: StripedIo;
  readonly #inodes: InodeCache;
  readonly #files = new Map<number, OpenFile>();
  readonly #grants = new QuotaGrants((ino, end, signal) =>
    this.#mds.call('quotaGrant', { ino, end }, signal),
  );
  /**
   * Handle numbers start from the clock (×1024) so that a daemon that adopts a FUSE connection never
   * hands the kernel a number its predecessor gave out (that would need 1024 opens per ms of its life).
   */
  #nextFh = Date.now() * 1024;

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
    grant?: QuotaGrant,
  ): Promise<FileHandle> {
    if (grant) this.#grants.seed(attr.ino, grant);
    const state = this.#inodes.get(attr.ino);
    state.opens++;
    state.layout = layout;
    state.size = attr.size;
    state.setId = (attr.mode & 0o6000) !== 0;
    const handle: FileHandle = { fh: this.#nextFh++, ino: attr.ino, flags };
    this.#files.set(handle.fh, { handle, mdsHandle, state });
    if (truncate && layout) {
      state.dirtyEnd = 0;
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
    if (size === undefined || offset + length >= size) size = (await this.attr(handle.ino, signal)).size;
    const end = Math.min(offset + length, size);
    if (end <= offset) return Buffer.alloc(0);
    const layout = await this.layout(handle.ino, signal);
    if (!layout) return Buffer.alloc(end - offset);
    return await this.#io.read(handle.ino, layout, offset, end - offset, signal);
  }

  /** With `key` (a keeper-held mount's request), an O_APPEND write the kernel resends to a new daemon gets the range it got before. */
  async write(
    handle: FileHandle,
    offset: number,
    data: Buffer,
    signal?: AbortSignal,
    key?: RequestKey,
  ): Promise<number> {
    const f = this.file(handle);
    if ((handle.flags & O_ACCMODE) === O_RDONLY) throw new FsError('EBADF', 'not open for writing');
    if ((handle.flags & O_APPEND) === 0) return await this.#writeAt(f, offset, data, signal);
    const st = f.state;
    const turn = st.appendChain.then(async () => {
      if (data.length === 0) return 0;
      // The MDS hands out the range, so appenders on other clients never land on the same bytes.
      const args = { ino: handle.ino, length: data.length, ...(key && { key }) };
      const attr = await this.#mds.mutate('reserveAppend', args, signal);
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
      const st = f.state;
      if (st.mtimeDirty && st.dirtyEnd >= 0) {
        // Size and mtime ride on the release: one round trip (the MDS applies both in one transaction).
        const end = st.dirtyEnd;
        st.mtimeDirty = false;
        st.dirtyEnd = 0;
        try {
          await this.#mds.mutate('release', { handle: f.mdsHandle, end }, signal);
        } catch (err) {
          // Not told: the next flush of this inode (getattr, fsync) reports it (the MDS keeps the max).
          st.mtimeDirty = true;
          st.dirtyEnd = st.dirtyEnd < 0 ? -1 : Math.max(end, st.dirtyEnd);
          throw err;
        }
      } else {
        await this.#flushUnlessUnreadable(st, signal);
        await this.#mds.mutate('release', { handle: f.mdsHandle }, signal);
      }
    } finally {
      f.state.opens--;
      if (f.state.opens <= 0) this.#grants.forget(handle.ino);
      // An unreported size keeps the inode's state (its next getattr reports it).
      if (!f.state.mtimeDirty) this.#inodes.drop(handle.ino);
    }
  }

  /** Forgets every quota grant (the MDS reconnected and may have lost them); writers ask again. */
  forgetGrants(): void {
    this.#grants.forgetAll();
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
    const st = this.#inodes.peek(ino);
    if (st && st.dirtyEnd !== 0) st.dirtyEnd = Math.min(st.dirtyEnd < 0 ? size : st.dirtyEnd, size);
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

  /**
   * Tells the MDS the size and mtime of this client's writes since it last did (one extendSize):
   * the end it wrote to, or when another client changed the inode since, the size on the OSTs.
   */
  async flushMtime(st: InodeState, signal: AbortSignal | undefined): Promise<Attr | undefined> {
    if (!st.mtimeDirty) return undefined;
    const dirty = st.dirtyEnd;
    st.dirtyEnd = 0;
    try {
      const layout = dirty < 0 ? await this.layout(st.ino, signal) : null;
      const end = dirty < 0 ? (layout ? await this.#io.glimpse(st.ino, layout, signal) : 0) : dirty;
      return await this.#extend(st, end, signal);
    } catch (err) {
      // Reported again by the next flush.
      st.mtimeDirty = true;
      st.dirtyEnd = dirty < 0 || st.dirtyEnd < 0 ? -1 : Math.max(dirty, st.dirtyEnd);
      throw err;
    }
  }

  /**
   * Fresh attributes of `ino` with its current size: this client's unreported writes first go to
   * the MDS; if another client may hold unreported writes (`sizeOnOsts`), the size is the larger of
   * the MDS's and the OSTs' (a glimpse).
   */
  async attr(ino: number, signal?: AbortSignal): Promise<Attr> {
    const st = this.#inodes.peek(ino);
    // The extendSize that reports this client's writes answers with the attributes: one round trip.
    let attr =
      (st?.mtimeDirty ? await this.#flushUnlessUnreadable(st, signal) : undefined) ??
      (await this.#mds.call('getattr', { ino }, signal));
    if (attr.sizeOnOsts) {
      const layout = await this.layout(ino, signal);
      const onOsts = layout ? await this.#io.glimpse(ino, layout, signal) : 0;
      const { sizeOnOsts: _, ...rest } = attr;
      attr = onOsts > rest.size ? { ...rest, size: onOsts, blocks: Math.ceil(onOsts / 512) } : rest;
    }
    this.#inodes.noteAttr(attr);
    return attr;
  }

  /**
   * flushMtime, except that after a failed write (the size to report is the objects') whose objects
   * cannot be read now, nothing is reported yet (EIO is not the caller's: a later flush reports it).
   */
  async #flushUnlessUnreadable(st: InodeState, signal: AbortSignal | undefined): Promise<Attr | undefined> {
    try {
      return await this.flushMtime(st, signal);
    } catch (err) {
      if (st.dirtyEnd < 0 && err instanceof FsError && err.code === 'EIO') return undefined;
      throw err;
    }
  }

  async #writeAt(f: OpenFile, offset: number, data: Buffer, signal?: AbortSignal): Promise<number> {
    checkRange(offset, data.length);
    if (data.length === 0) return 0;
    const layout = await this.layout(f.handle.ino, signal);
    if (!layout) throw new FsError('EIO', `inode ${f.handle.ino} has no layout to write to`);
    await this.#grants.reserve(f.handle.ino, f.state.size, offset + data.length, signal);
    const st = f.state;
    try {
      await this.#io.write(f.handle.ino, layout, offset, data, signal);
    } catch (err) {
      // Some stripes may hold the data now: the size reported is then the objects' (as readers glimpse it).
      st.dirtyEnd = -1;
      st.mtimeDirty = true;
      throw err;
    }
    st.layoutFixed = true;
    const end = offset + data.length;
    // No MDS call: the size is on the OSTs until the next flush (see flushMtime and attr).
    st.size = Math.max(st.size ?? 0, end);
    st.dirtyEnd = st.dirtyEnd < 0 ? -1 : Math.max(st.dirtyEnd, end);
    st.mtimeDirty = true;
    return data.length;
  }

  async #extend(st: InodeState, end: number, signal: AbortSignal | undefined): Promise<Attr> {
    st.mtimeDirty = false;
    const attr = await untilAborted(st.extender.extend(end), signal, 'extendSize').catch((err: unknown) => {
      // The MDS no longer honours this client's grant (it restarted, or a limit is new): ask before the next write.
      if (err instanceof FsError && err.code === 'EDQUOT') this.#grants.forget(st.ino);
      throw err;
    });
    this.#inodes.noteGrowth(attr);
    return attr;
  }
}

function checkRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new FsError('EINVAL', `bad range offset=${offset} length=${length}`);
  }
}
