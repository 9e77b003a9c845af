// Metadata caching under inode-bits locks: lookups and getattrs answered from the mount's MetaCache while the covering lock is held, and this client's own changes applied to it.
import { FsError } from '../../lib/errors.ts';
import {
  type Attr,
  type Credentials,
  type DirEntry,
  type FileHandle,
  type FileSystemClient,
  isByteName,
  type SetAttrChanges,
} from '../types.ts';
import type { CacheLock } from './lock-cache.ts';
import type { LustreClient } from './lustre-client.ts';
import { IBITS, MetaCache } from './meta-cache.ts';
import { O_TRUNC } from './open-files.ts';
import { overrideClient } from './override-client.ts';

const RENAME_NOREPLACE = 1;
/** Heartbeat of the event loop, and the gap after which the cache is not trusted without a round trip (ms). */
const BEAT_MS = 500;
const STALL_MS = 2_000;
/** Entries read at most to list a directory whole (beyond, its absent names cost a lookup each). */
const LIST_MAX = 1024;

/** A name of at most NAME_MAX (255) bytes, also in the "/"-and-hex form of a name that is not UTF-8. */
const fitsName = (name: string) => name !== '' && Buffer.byteLength(name) <= (isByteName(name) ? 511 : 255);

const writes = (flags: number) => (flags & 3) !== 0 || (flags & O_TRUNC) !== 0;

/**
 * `inner` with lookups and getattrs served from a MetaCache when they can be. A lookup takes a PR
 * LOOKUP lock on the directory (one lockEnqueue per directory, kept until another client changes
 * a name in it) and asks the MDS for a PR UPDATE lock on the inode with the lookup's reply; the
 * name — or its absence (ENOENT) — and the attributes are then answered here until the MDS calls
 * the locks back. Every namespace change and every setattr, open for writing or truncation takes
 * PW locks on the MDS (mds/meta-revoke.ts), which call back the other clients' locks before it is
 * done, so no mount answers from a name or an attribute older than a change that has returned.
 * This client's own changes do not revoke its own locks: they update or drop the cache here.
 * The kernel is told nothing: entry and attribute timeouts stay zero, so every kernel lookup and
 * getattr reaches this cache (why: FUSE_NOTIFY_INVAL_ENTRY takes the directory's inode lock,
 * which a create in that directory on the same mount holds while it waits for the MDS — two
 * mounts creating in one directory would wait on each other's callbacks until one is evicted).
 */
export class MetaLocks {
  readonly cache: MetaCache;
  readonly #lustre: LustreClient;
  /** Last tick of the event loop's heartbeat: a process that was stopped sees it stale. */
  #beat = Date.now();
  readonly #heartbeat: ReturnType<typeof setInterval>;

  constructor(lustre: LustreClient) {
    if (!lustre.locks)
      throw new Error('metadata caching needs a client with cache locks (connectLustre makes one)');
    this.#lustre = lustre;
    this.cache = new MetaCache(lustre.locks);
    this.#heartbeat = setInterval(() => {
      this.#beat = Date.now();
    }, BEAT_MS).unref();
    lustre.onClose(() => this.close());
  }

  /** Stops the heartbeat (the client closes: nothing is served from here any more). */
  close(): void {
    clearInterval(this.#heartbeat);
  }

  /**
   * After the process stood still (SIGSTOP, a long pause) callbacks and an eviction may be waiting
   * unread on the MDS connection while a request is served: one round trip first, whose reply
   * comes after them, so what the cache answers has been revoked if it had to be (EIO if this
   * client was evicted meanwhile, until it has reconnected).
   */
  async #fresh(signal?: AbortSignal): Promise<void> {
    if (Date.now() - this.#beat < STALL_MS) return;
    await this.#lustre.mds.call('getattr', { ino: this.#lustre.mds.rootIno }, signal);
    this.#beat = Date.now();
  }

  async lookup(cred: Credentials, parent: number, name: string, signal?: AbortSignal): Promise<Attr> {
    // The MDS judges names the cache could not hold (ENAMETOOLONG, EINVAL) and "." and "..".
    if (name === '.' || name === '..' || !fitsName(name))
      return await this.#lustre.lookup(cred, parent, name, signal);
    await this.#fresh(signal);
    const known = this.#known(parent, name);
    if (known !== undefined) {
      this.cache.hits++;
      return await this.#answer(name, known, signal);
    }
    this.cache.misses++;
    const lock = await this.#lookupLock(parent, signal);
    if (lock && this.cache.shouldList(parent)) {
      await this.#list(cred, parent, lock, signal);
      const listed = this.#known(parent, name);
      if (listed !== undefined) return await this.#answer(name, listed, signal);
    }
    try {
      const r = await this.#lustre.lookupLocked(cred, parent, name, signal);
      this.cache.putName(parent, name, r.attr.ino, lock);
      this.cache.putAttr(r.attr, r.updateLock, !r.attr.sizeOnOsts);
      return r.attr;
    } catch (err) {
      if (err instanceof FsError && err.code === 'ENOENT') this.cache.putName(parent, name, null, lock);
      throw err;
    }
  }

  /** What the cache knows of a name: an inode, null (absent, or not in a directory listed whole), or undefined. */
  #known(parent: number, name: string): number | null | undefined {
    const known = this.cache.name(parent, name);
    if (known === undefined && this.cache.isComplete(parent)) return null;
    return known;
  }

  async #answer(name: string, known: number | null, signal?: AbortSignal): Promise<Attr> {
    if (known === null) throw new FsError('ENOENT', `${name} does not exist`);
    return await this.getattr(known, signal);
  }

  /**
   * Lists a directory whole under its LOOKUP lock (one readdir of at most LIST_MAX entries, the
   * first time a name in it is missed): then a name not cached is absent, with no round trip —
   * a create's lookup of its new name among them. Larger or unreadable directories are not tried
   * again.
   */
  async #list(cred: Credentials, dir: number, lock: CacheLock, signal?: AbortSignal): Promise<void> {
    let entries: DirEntry[];
    try {
      entries = await this.#lustre.readdir(cred, dir, 0, LIST_MAX, false, signal);
    } catch {
      this.cache.listFailed(dir);
      return;
    }
    const names = entries.filter((e) => e.name !== '.' && e.name !== '..');
    if (entries.length >= LIST_MAX) {
      this.cache.listFailed(dir);
      return;
    }
    for (const e of names) this.cache.putName(dir, e.name, e.ino, lock);
    this.cache.markComplete(dir, lock);
  }

  async getattr(ino: number, signal?: AbortSignal): Promise<Attr> {
    await this.#fresh(signal);
    const hit = this.cache.attr(ino);
    if (hit) {
      this.cache.hits++;
      return hit;
    }
    this.cache.misses++;
    const r = await this.#lustre.getattrLocked(ino, this.cache.updateLock(ino) === undefined, signal);
    this.cache.putAttr(r.attr, r.updateLock, r.cacheable);
    return r.attr;
  }

  /** readdirplus: the entries' names go into the cache under the directory's LOOKUP lock, their attributes under the UPDATE locks that came with them. */
  async readdirPlus(cred: Credentials, ino: number, cookie: number, limit: number, signal?: AbortSignal) {
    const lock = await this.#lookupLock(ino, signal);
    const entries = await this.#lustre.readdirLocked(cred, ino, cookie, limit, signal);
    return entries.map(({ updateLock, ...e }) => {
      if (e.name === '.' || e.name === '..') return e;
      this.cache.putName(ino, e.name, e.ino, lock);
      if (e.attr) this.cache.putAttr(e.attr, updateLock, updateLock !== undefined);
      return e;
    });
  }

  /** The directory's LOOKUP lock: held, or taken now (one lockEnqueue) unless the directory is contended. */
  async #lookupLock(parent: number, signal?: AbortSignal) {
    const held = this.cache.lookupLock(parent);
    if (held || this.cache.contended(parent)) return held;
    const lock = await this.#lustre.locks!.acquire(
      { ino: parent, kind: 'ibits', mode: 'PR', bits: IBITS.LOOKUP },
      signal,
    );
    this.cache.lookupLocked(lock);
    return lock;
  }

  /** A name this client made (create, mknod, mkdir, symlink, link) now names `attr.ino`. */
  named(parent: number, name: string, attr: Attr): void {
    this.cache.dropAttr(parent);
    this.cache.putName(parent, name, attr.ino, this.cache.lookupLock(parent));
  }

  /** A name this client removed; the inode it named loses a link (its number may not be known here). */
  unnamed(parent: number, name: string): void {
    const ino = this.#known(parent, name);
    this.cache.dropName(parent, name);
    this.cache.dropAttr(parent);
    if (typeof ino === 'number') this.cache.dropAttr(ino);
    else if (ino === undefined) this.cache.dropAllAttrs();
  }

  renamed(parent: number, name: string, newParent: number, newName: string, flags: number): void {
    const moved = this.cache.name(parent, name);
    // Known absent (also in a directory listed whole): nothing was replaced.
    const replaced = this.#known(newParent, newName);
    this.unnamed(parent, name);
    this.unnamed(newParent, newName);
    if (replaced === undefined) this.cache.dropAllAttrs();
    // EXCHANGE (both names stay, swapped) or WHITEOUT: names not known here, so neither directory is complete.
    if ((flags & ~RENAME_NOREPLACE) !== 0) {
      this.cache.notComplete(parent);
      this.cache.notComplete(newParent);
    }
    if (typeof moved !== 'number') this.cache.notComplete(newParent);
    if (typeof moved === 'number') {
      this.cache.dropAttr(moved);
      if ((flags & ~RENAME_NOREPLACE) === 0) {
        this.cache.putName(newParent, newName, moved, this.cache.lookupLock(newParent));
      }
    }
  }
}

/** `client` (the mount's, maybe with data locks) with its metadata calls cached under `meta`'s locks. */
export function withMetaLocks(client: FileSystemClient, meta: MetaLocks): FileSystemClient {
  const c = meta.cache;
  /** An unlink or rmdir of `name`: the name is forgotten whatever the MDS said; a failure leaves the listing unknown. */
  const removing = async (parent: number, name: string, remove: () => Promise<void>) => {
    try {
      await remove();
    } catch (err) {
      c.notComplete(parent);
      throw err;
    } finally {
      meta.unnamed(parent, name);
    }
  };
  const overrides: Partial<FileSystemClient> = {
    lookup: (cred, parent, name, signal) => meta.lookup(cred, parent, name, signal),
    getattr: (ino, signal) => meta.getattr(ino, signal),
    readdir: (cred, ino, cookie, limit, plus, signal) =>
      plus
        ? meta.readdirPlus(cred, ino, cookie, limit, signal)
        : client.readdir(cred, ino, cookie, limit, plus, signal),
    setattr: async (cred, ino, changes: SetAttrChanges, signal, opts) => {
      c.dropAttr(ino);
      try {
        return await client.setattr(cred, ino, changes, signal, opts);
      } finally {
        c.dropAttr(ino);
      }
    },
    create: async (cred, parent, name, mode, flags, signal, opts) => {
      c.dropName(parent, name);
      const r = await client.create(cred, parent, name, mode, flags, signal, opts);
      if (writes(flags)) c.writing(r.attr.ino);
      meta.named(parent, name, r.attr);
      return r;
    },
    mknod: async (cred, parent, name, mode, rdev, signal, opts) => {
      c.dropName(parent, name);
      const attr = await client.mknod(cred, parent, name, mode, rdev, signal, opts);
      meta.named(parent, name, attr);
      return attr;
    },
    mkdir: async (cred, parent, name, mode, signal, opts) => {
      c.dropName(parent, name);
      const attr = await client.mkdir(cred, parent, name, mode, signal, opts);
      meta.named(parent, name, attr);
      return attr;
    },
    symlink: async (cred, parent, name, target, signal, opts) => {
      c.dropName(parent, name);
      const attr = await client.symlink(cred, parent, name, target, signal, opts);
      meta.named(parent, name, attr);
      return attr;
    },
    link: async (cred, ino, newParent, newName, signal, opts) => {
      c.dropName(newParent, newName);
      c.dropAttr(ino);
      const attr = await client.link(cred, ino, newParent, newName, signal, opts);
      c.dropAttr(ino);
      meta.named(newParent, newName, attr);
      return attr;
    },
    unlink: (cred, parent, name, signal, opts) =>
      removing(parent, name, () => client.unlink(cred, parent, name, signal, opts)),
    rmdir: (cred, parent, name, signal, opts) =>
      removing(parent, name, () => client.rmdir(cred, parent, name, signal, opts)),
    rename: async (cred, parent, name, newParent, newName, flags, signal, opts) => {
      try {
        await client.rename(cred, parent, name, newParent, newName, flags, signal, opts);
      } catch (err) {
        meta.unnamed(parent, name);
        meta.unnamed(newParent, newName);
        c.notComplete(parent);
        c.notComplete(newParent);
        throw err;
      }
      meta.renamed(parent, name, newParent, newName, flags);
    },
    open: async (cred, ino, flags, signal, opts) => {
      if (!writes(flags)) return await client.open(cred, ino, flags, signal, opts);
      c.writing(ino);
      try {
        return await client.open(cred, ino, flags, signal, opts);
      } catch (err) {
        c.written(ino);
        throw err;
      }
    },
    release: async (h: FileHandle, signal) => {
      try {
        await client.release(h, signal);
      } finally {
        if (writes(h.flags)) c.written(h.ino);
      }
    },
    write: (h: FileHandle, offset, data, signal, opts) => {
      c.dropAttr(h.ino);
      return client.write(h, offset, data, signal, opts);
    },
    fallocate: (h: FileHandle, mode, offset, length, signal) => {
      c.dropAttr(h.ino);
      return client.fallocate(h, mode, offset, length, signal);
    },
    setxattr: async (cred, ino, name, value, flags, signal, opts) => {
      c.dropAttr(ino);
      await client.setxattr(cred, ino, name, value, flags, signal, opts);
    },
    removexattr: async (cred, ino, name, signal, opts) => {
      c.dropAttr(ino);
      await client.removexattr(cred, ino, name, signal, opts);
    },
  };
  return overrideClient(client, overrides);
}

/** The mount's client with metadata cached under inode-bits locks (`nacre mount --cache-metadata`). */
export function metaCachingClient(client: FileSystemClient, lustre: LustreClient): FileSystemClient {
  return withMetaLocks(client, new MetaLocks(lustre));
}
