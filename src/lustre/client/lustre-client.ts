// The striped Lustre-like client: FileSystemClient over MDS metadata RPCs and parallel OST object I/O, and connectLustre to mount one.
import { FsError } from '../../lib/errors.ts';
import { type Logger, logger } from '../../lib/log.ts';
import type { MgsClient } from '../protocol/mgs-client.ts';
import type { FileSystemConfig } from '../protocol/mgs-messages.ts';
import {
  type Attr,
  type Credentials,
  type FileHandle,
  type FileLock,
  type FileSystemClient,
  type InvalidateEvent,
  type Layout,
  type RequestOptions,
  ROOT_CREDENTIALS,
  type SetAttrChanges,
  type StatFs,
  type WriteOptions,
} from '../types.ts';
import { BatchedReads } from './batched-reads.ts';
import { type ConnectLustreOptions, connectClient, type LustreClientParts } from './connect-lustre.ts';
import { FileLocks } from './file-locks.ts';
import type { LockReplay } from './held-locks.ts';
import { LoadingFiles, whileRestoring } from './hsm-wait.ts';
import type { InodeCache } from './inode-cache.ts';
import type { LockCache } from './lock-cache.ts';
import { MdsCalls } from './mds-calls.ts';
import { O_ACCMODE, O_EXCL, O_RDONLY, O_TRUNC, O_WRONLY, OpenFiles } from './open-files.ts';
import type { OstPool } from './ost-pool.ts';
import { SnapshotReader } from './snapshot-reader.ts';
import { clientStatfs, type OstUsage, ostUsage } from './statfs.ts';
import { fetchStripes, type SourceOf } from './striped-fetch.ts';
import type { StripedIo } from './striped-io.ts';
import { StripeUploader } from './striped-upload.ts';

export type { ConnectLustreOptions, LustreClientParts } from './connect-lustre.ts';
export type { OstUsage } from './statfs.ts';

/**
 * Fetches the file system's config from the MGS (waiting while it is still being created),
 * connects to its MDS and resolves once the MDS answered. Rejects with FsError: ENOENT for an
 * unknown fsname, ETIMEDOUT when the MGS or MDS did not answer within `timeoutMs`, EINTR when
 * `signal` aborted, EIO for anything else. OST connections open on first use.
 */
export function connectLustre(opts: ConnectLustreOptions): Promise<LustreClient> {
  return connectClient(opts, (parts) => new LustreClient(parts));
}

/**
 * FileSystemClient of one mounted file system. Metadata calls go to the MDS (retried while it is
 * away, exactly once for mutations); file data goes straight to the OSTs in parallel stripes.
 * Reads see the file's size (fresh attributes for reads that reach the remembered end of file: the
 * MDS's size, or the OSTs' while a writer has it open); writes go to the OSTs only, and the MDS
 * learns the new size at close(2), fsync and getattr (see OpenFiles). Data is not cached.
 */
export class LustreClient extends MdsCalls implements FileSystemClient {
  readonly clientId: string;
  readonly config: FileSystemConfig;
  readonly #pool: OstPool;
  #batchedReads: BatchedReads | undefined;
  readonly #io: StripedIo;
  readonly #inodes: InodeCache;
  readonly #mgs: MgsClient | undefined;
  readonly #files: OpenFiles;
  readonly #closers: (() => void)[] = [];
  readonly #loading: LoadingFiles;
  readonly #listeners: ((e: InvalidateEvent) => void | Promise<void>)[] = [];
  readonly #locks: LockCache | undefined;
  #pagesUnderLocks = false;
  /** This client's flock/POSIX locks. */
  readonly #fileLocks: FileLocks;
  readonly #log: Logger;
  readonly #mountId: string | undefined;

  constructor(parts: LustreClientParts) {
    super(parts.mds, parts.inodes, parts.mountId);
    this.clientId = parts.clientId;
    this.#mountId = parts.mountId;
    this.config = parts.config;
    this.#pool = parts.pool;
    this.#io = parts.io;
    this.#inodes = parts.inodes;
    this.#files = new OpenFiles(parts.mds, parts.io, parts.inodes);
    this.#loading = new LoadingFiles(parts.mds);
    this.#mgs = parts.mgs;
    this.#locks = parts.locks;
    this.#fileLocks = new FileLocks(parts.mds, parts.clientId);
    this.#log = logger('lustre-client', { fsname: parts.config.fsname });
  }

  /** Takes a point-in-time snapshot of the whole file system, to read (backups) and then drop. */
  takeSnapshot(id: string, signal?: AbortSignal): Promise<SnapshotReader> {
    return SnapshotReader.take(this.mds, this.#pool, id, signal);
  }

  /** Delivers an MDS invalidation: forgets cached sizes, then tells the listeners. */
  deliverInvalidate(event: InvalidateEvent): void {
    if (event.kind === 'inode') this.#inodes.invalidate(event.ino);
    // Pages are dropped by lock revocations, and attributes are not cached: the push, arriving at
    // any time, would only make the kernel discard a fresh GETATTR reply that crossed it.
    if (event.kind === 'inode' && this.#pagesUnderLocks) return;
    for (const l of this.#listeners) {
      try {
        void l(event);
      } catch (err) {
        this.#log.error('invalidate listener failed', { error: String(err) });
      }
    }
  }

  /** The client's cache locks (absent for clients built without them, in tests). */
  get locks(): LockCache | undefined {
    return this.#locks;
  }

  /** The MDS session (re)connected: the MDS may have restarted, so quota grants are asked for again. */
  mdsConnected(): void {
    this.#files.forgetGrants();
  }

  /** The mount caches pages only under data locks (client/data-locks.ts): inode pushes are not passed on. */
  cachePagesUnderLocks(): void {
    this.#pagesUnderLocks = true;
  }

  /** Has every listener (the mount's kernel cache) drop the pages and attributes of `ino`; resolves once they have. */
  async dropCache(ino: number): Promise<void> {
    await Promise.all(this.#listeners.map(async (l) => l({ kind: 'inode', ino })));
  }

  onInvalidate(listener: (event: InvalidateEvent) => void | Promise<void>): void {
    this.#listeners.push(listener);
  }

  // --- namespace -------------------------------------------------------------------------------

  async getattr(ino: number, signal?: AbortSignal): Promise<Attr> {
    return await this.#files.attr(ino, signal);
  }

  /**
   * getattr, asking (with `wantLock`) for a PR UPDATE lock with the reply. `cacheable`: the
   * attributes are the MDS's own, with no writes of this client to report and no other client
   * writing the file (else they are the plain getattr's, glimpse included, and no lock comes).
   */
  async getattrLocked(ino: number, wantLock: boolean, signal?: AbortSignal) {
    if (this.#inodes.peek(ino)?.mtimeDirty)
      return { attr: await this.getattr(ino, signal), cacheable: false };
    const { updateLock, ...attr } = await this.mds.call('getattr', { ino, lockUpdate: wantLock }, signal);
    if (attr.sizeOnOsts) return { attr: await this.getattr(ino, signal), updateLock, cacheable: false };
    return { attr: this.noted(attr), updateLock, cacheable: true };
  }

  async setattr(
    cred: Credentials,
    ino: number,
    changes: SetAttrChanges,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ): Promise<Attr> {
    const { fh, ...rest } = changes;
    const wire: SetAttrChanges =
      fh === undefined ? rest : { ...rest, fh: this.#files.file({ fh, ino, flags: 0 }).mdsHandle };
    const { resent, ...attr } = await whileRestoring(
      () => this.mds.mutate('setattr', { cred, ino, changes: wire, ...this.key(opts) }, signal),
      signal,
    );
    // A resent truncate is done: the MDS finished its cut if the first caller had not reported it
    // (before it answered); cutting again would cut what others wrote since, reported or not.
    if (changes.size !== undefined && !resent) {
      await this.#files.truncateObjects(ino, changes.size, signal);
      await this.mds.call('punched', { ino, size: changes.size }, signal);
    }
    return this.noted(attr);
  }

  async create(
    cred: Credentials,
    parent: number,
    name: string,
    mode: number,
    flags: number,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ) {
    const exclusive = (flags & O_EXCL) !== 0;
    const r = await this.mds.mutate(
      'create',
      { cred, parent, name, mode, exclusive, open: true, flags, ...this.key(opts) },
      signal,
    );
    if (r.handle === null) throw new FsError('EIO', `MDS created ${name} without opening it`);
    const truncate = !r.created && (flags & O_TRUNC) !== 0 && (flags & O_ACCMODE) !== O_RDONLY;
    // A resent O_TRUNC is done: only a cut still pending on the MDS is finished (see #finishPunch).
    if (truncate && r.resent && r.punch !== undefined)
      await this.#finishPunch(r.attr.ino, r.punch, r.attr.size, signal);
    const cut = truncate && !r.resent;
    const handle = await this.#files.opened(r.attr, r.layout, r.handle, flags, cut, signal, r.grant);
    return { attr: r.attr, handle };
  }

  // --- open files and data ------------------------------------------------------------------------

  async open(
    cred: Credentials,
    ino: number,
    flags: number,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ): Promise<FileHandle> {
    // Only an O_TRUNC open changes anything a resend must not change again: only it is keyed.
    const key = (flags & O_TRUNC) !== 0 ? this.key(opts) : {};
    const args = { cred, ino, flags, ...key };
    const r = await whileRestoring(() => this.mds.mutate('open', args, signal), signal);
    const truncate = (flags & O_TRUNC) !== 0 && (flags & O_ACCMODE) !== O_RDONLY && r.layout !== null;
    // A cut still pending is finished, a resent O_TRUNC's included; a resent one is not done again.
    if (r.punch !== undefined && r.layout) await this.#finishPunch(ino, r.punch, r.attr.size, signal);
    const cut = truncate && !r.resent;
    const handle = await this.#files.opened(r.attr, r.layout, r.handle, flags, cut, signal, r.grant);
    this.#loading.opened(ino, r.loading);
    return handle;
  }

  /**
   * A truncate whose client died before punching the objects: cut them now, before anyone can
   * grow the file over the old bytes. If the file already grew past the pending size, its new
   * bytes cannot be told from old ones: only the part past its current size is cut. Also how a
   * resent truncate ends: a truncate that may drop bytes stays pending on the MDS until its caller
   * reports the objects cut, so a resend finishes only a cut still pending — nobody can have
   * written since (a write needs a PW lock, granted only after the MDS finished it) — and cuts
   * nothing otherwise, which would cut what others wrote since.
   */
  async #finishPunch(ino: number, punch: number, size: number, signal?: AbortSignal) {
    const to = Math.max(punch, size);
    this.#log.warn('finishing an unconfirmed truncate', { ino, size: to });
    await this.#files.truncateObjects(ino, to, signal);
    await this.mds.call('punched', { ino, size: punch }, signal);
  }

  async read(handle: FileHandle, offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    await this.#loading.ready(handle.ino, offset, length, signal);
    return await this.#files.read(handle, offset, length, signal);
  }

  /**
   * Bytes [offset, offset + length) of a file by the layout its MDS handle came with (the HSM agent's
   * batched export, mds/hsm-export-batch.ts), not clamped to any size: past an object's end, zeros.
   * The caller holds a read handle on the MDS for as long as it reads. Small reads of files with
   * one copy go to their OST together with other such reads (client/batched-reads.ts).
   */
  readByLayout(ino: number, layout: Layout | null, offset: number, length: number, signal?: AbortSignal) {
    if (!layout || length === 0) return Promise.resolve(Buffer.alloc(length));
    this.#batchedReads ??= new BatchedReads(this.#pool);
    const batched = this.#batchedReads.read(ino, layout, offset, length);
    // A batch that failed (an OSS away, a deadline): this read alone, with the read path's recovery and EIO.
    return (
      batched?.catch(() => this.#io.read(ino, layout, offset, length, signal)) ??
      this.#io.read(ino, layout, offset, length, signal)
    );
  }

  async killSetId(cred: Credentials, handle: FileHandle, signal?: AbortSignal): Promise<void> {
    const f = this.#files.file(handle);
    if (f.state.setId === false) return;
    const changes: SetAttrChanges = { killSetId: true, fh: f.mdsHandle };
    this.noted(await this.mds.mutate('setattr', { cred, ino: handle.ino, changes }, signal));
  }

  write(
    handle: FileHandle,
    offset: number,
    data: Buffer,
    signal?: AbortSignal,
    opts?: WriteOptions,
  ): Promise<number> {
    return this.#files.write(handle, offset, data, signal, this.key(opts).key);
  }

  /**
   * Has the OSSes fetch bytes [offset, offset + length) of a file open for writing from outside
   * (striped-fetch.ts; the HSM agent's restores): the bytes do not pass through this client, and
   * the file's size and mtime do not change. Resolves with the bytes fetched.
   */
  async fetchRange(
    handle: FileHandle,
    offset: number,
    length: number,
    sourceOf: SourceOf,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<number> {
    this.#files.file(handle); // EBADF for a handle that is not open
    if ((handle.flags & O_ACCMODE) === O_RDONLY) throw new FsError('EBADF', 'not open for writing');
    const layout = await this.#files.layout(handle.ino, signal);
    if (!layout) throw new FsError('EIO', `inode ${handle.ino} has no layout to fetch into`);
    return fetchStripes(
      this.#io,
      this.#pool,
      handle.ino,
      layout,
      offset,
      length,
      sourceOf,
      timeoutMs,
      signal,
    );
  }

  /**
   * Sends ranges of a file open for reading out by the OSSes that hold them (striped-upload.ts; the
   * HSM agent's exports), from the copies a read would use; undefined for a file without a layout.
   */
  async stripeUploader(handle: FileHandle, signal?: AbortSignal): Promise<StripeUploader | undefined> {
    this.#files.file(handle); // EBADF for a handle that is not open
    if ((handle.flags & O_ACCMODE) === O_WRONLY) throw new FsError('EBADF', 'not open for reading');
    const layout = await this.#files.layout(handle.ino, signal);
    return layout ? new StripeUploader(this.#io, this.#pool, handle.ino, layout) : undefined;
  }

  fsync(handle: FileHandle, _datasync: boolean, signal?: AbortSignal): Promise<void> {
    return this.#files.fsync(handle, signal);
  }

  async flush(handle: FileHandle, lockOwner: bigint, signal?: AbortSignal): Promise<void> {
    this.#files.file(handle); // EBADF for a handle that is not open
    // close(2) drops the owner's POSIX locks; skip the MDS round trip for inodes never locked here.
    // The size and mtime of this client's writes go with the release that follows (one round trip);
    // until then the handle is open for writing, so other clients glimpse the size from the OSTs.
    await this.#fileLocks.unlockOwner(handle.ino, lockOwner, signal);
  }

  async release(handle: FileHandle, signal?: AbortSignal): Promise<void> {
    const f = this.#files.file(handle);
    try {
      await this.#files.release(handle, signal);
    } finally {
      const stillOpen = this.#files.handles().some((h) => h.ino === handle.ino);
      this.#fileLocks.released(handle.ino, f.mdsHandle, stillOpen);
    }
  }

  fallocate(handle: FileHandle, mode: number, offset: number, length: number, signal?: AbortSignal) {
    return this.#files.fallocate(handle, mode, offset, length, signal);
  }

  // --- locks --------------------------------------------------------------------------------------

  getlk(handle: FileHandle, owner: bigint, lock: FileLock, signal?: AbortSignal): Promise<FileLock> {
    this.#files.file(handle);
    return this.#fileLocks.getlk(handle.ino, owner, lock, signal);
  }

  async setlk(handle: FileHandle, owner: bigint, lock: FileLock, wait: boolean, signal?: AbortSignal) {
    this.#files.file(handle);
    await this.#fileLocks.setlk(handle.ino, owner, lock, wait, signal);
  }

  /** The locks this client holds, as it re-asserts them after connecting (lock replay). */
  lockReplay(): LockReplay {
    return this.#fileLocks.replay();
  }

  async flock(
    handle: FileHandle,
    _owner: bigint,
    type: FileLock['type'],
    wait: boolean,
    signal?: AbortSignal,
  ) {
    const f = this.#files.file(handle);
    await this.#fileLocks.flock(handle.ino, f.mdsHandle, type, wait, signal);
  }

  // --- file system ----------------------------------------------------------------------------------

  /** MDS inode counts and the OSTs' space (see clientStatfs; with `ino`, a project's quota). */
  statfs(signal?: AbortSignal, ino?: number): Promise<StatFs> {
    return clientStatfs(this.mds, this.#pool, this.config.replicas, signal, ino);
  }

  /** Space of every OST for lfs df, in index order; an OST that does not answer has `error` instead. */
  ostUsage(signal?: AbortSignal): Promise<OstUsage[]> {
    return ostUsage(this.#pool, signal);
  }

  /** Attributes of the inode at `path` (absolute inside the file system), walking lookups as root. Symlinks are not followed. */
  async resolvePath(path: string, signal?: AbortSignal): Promise<Attr> {
    let attr = await this.getattr(this.mds.rootIno, signal);
    for (const name of path.split('/')) {
      if (name === '' || name === '.') continue;
      attr = await this.lookup(ROOT_CREDENTIALS, attr.ino, name, signal);
    }
    return attr;
  }

  /** Runs `fn` when the client closes (before its connections do). */
  onClose(fn: () => void): void {
    this.#closers.push(fn);
  }

  /** Releases every open handle (best effort, bounded) and closes every connection. */
  async close(): Promise<void> {
    for (const fn of this.#closers.splice(0)) fn();
    const signal = AbortSignal.timeout(2_000);
    await Promise.allSettled(this.#files.handles().map((h) => this.release(h, signal)));
    // Unmounted: nothing is cached any more, and another client need not wait for our eviction.
    // Nor can the kernel resend a request: the MDS may drop the replies kept under the mount's id.
    const forgot = this.#mountId
      ? this.mds.call('forgetMount', { mount: this.#mountId }, signal).catch(() => undefined)
      : undefined;
    await Promise.all([this.#locks?.releaseAll(signal), forgot]);
    this.mds.close();
    this.#pool.close();
    this.#mgs?.close();
  }
}
