// Names, negative entries and attributes a mount keeps while it holds the covering inode-bits lock: LOOKUP on the directory for its names, UPDATE on the inode for its attributes.
import type { Attr } from '../types.ts';
import type { CacheLock, LockCache } from './lock-cache.ts';

/** Inode bits of the MDS's metadata locks (mds/ldlm.ts IBITS). */
export const IBITS = { LOOKUP: 1, UPDATE: 2 } as const;

/** A cached name: the inode it names, or null for a name known not to exist. */
interface Entry {
  ino: number | null;
  /** The directory's LOOKUP lock it is cached under. */
  lock: number;
}

/** Names cached at most; beyond, everything is dropped (a lookup costs a round trip again). */
const MAX_NAMES = 1_000_000;
/** UPDATE locks kept at most; beyond, the oldest goes back to the MDS (its memory is the MDS's too). */
export const MAX_UPDATE_LOCKS = 20_000;
/** Directories remembered as too large to list whole. */
const MAX_UNLISTED = 100_000;
/** After a directory's LOOKUP lock was called back, its names are not cached for this long (ms). */
export const CONTENDED_MS = 1_000;
/** Call-back times kept before the old ones are pruned. */
const PRUNE_REVOKED_AT = 256;

const key = (parent: number, name: string) => `${parent}\0${name}`;

/**
 * The cache itself: every entry names the lock it lives under, and a revoked (or lost) lock takes
 * its entries with it before the lock is cancelled. An entry is only ever added while its lock is
 * held (`LockCache.isHeld`, checked synchronously), so a lock revoked while the call that read
 * the value was in flight never gets that value cached. Inodes this client has open for writing
 * keep no attributes (its own writes move size and mtime).
 */
export class MetaCache {
  readonly #locks: LockCache;
  readonly #names = new Map<string, Entry>();
  readonly #namesOf = new Map<number, Set<string>>();
  readonly #attrs = new Map<number, { attr: Attr; lock: number }>();
  readonly #writing = new Map<number, number>();
  readonly #revokedAt = new Map<number, number>();
  /** UPDATE locks taken on here, oldest first: lock id → inode. */
  readonly #updateLocks = new Map<number, number>();
  /** Held locks by inode (LockCache.held scans every lock): directories' LOOKUP, inodes' UPDATE. */
  readonly #dirLocks = new Map<number, CacheLock>();
  readonly #inoLocks = new Map<number, CacheLock>();
  /** Directories whose every name is cached (listed whole), under this LOOKUP lock id. */
  readonly #complete = new Map<number, number>();
  /** Directories too large (or unreadable) to list whole. */
  readonly #unlisted = new Set<number>();
  readonly #now: () => number;
  hits = 0;
  misses = 0;

  constructor(locks: LockCache, now: () => number = Date.now) {
    this.#locks = locks;
    this.#now = now;
    locks.onRevoke(async (lock) => this.#revoked(lock));
  }

  /** The cached name: an inode number, null (known absent), or undefined (not cached). */
  name(parent: number, name: string): number | null | undefined {
    const e = this.#names.get(key(parent, name));
    if (!e) return undefined;
    if (!this.#locks.isHeld(e.lock)) {
      this.#names.delete(key(parent, name));
      return undefined;
    }
    return e.ino;
  }

  /** Cached attributes of `ino`, if its UPDATE lock is held. */
  attr(ino: number): Attr | undefined {
    const a = this.#attrs.get(ino);
    if (!a) return undefined;
    if (!this.#locks.isHeld(a.lock) || this.#writing.has(ino)) {
      this.#attrs.delete(ino);
      return undefined;
    }
    return a.attr;
  }

  /** The held LOOKUP lock of directory `parent`, if any. */
  lookupLock(parent: number): CacheLock | undefined {
    const l = this.#dirLocks.get(parent);
    if (l && this.#locks.isHeld(l.id)) return l;
    this.#dirLocks.delete(parent);
    return undefined;
  }

  /** A LOOKUP lock this client was granted on directory `parent`. */
  lookupLocked(lock: CacheLock): void {
    if (this.#locks.isHeld(lock.id)) this.#dirLocks.set(lock.ino, lock);
  }

  /** The held UPDATE lock of `ino`, if any. */
  updateLock(ino: number): CacheLock | undefined {
    const l = this.#inoLocks.get(ino);
    if (l && this.#locks.isHeld(l.id)) return l;
    this.#inoLocks.delete(ino);
    return undefined;
  }

  /** Whether every name of `dir` is cached: a name not cached there does not exist. */
  isComplete(dir: number): boolean {
    const id = this.#complete.get(dir);
    if (id === undefined) return false;
    if (this.#locks.isHeld(id)) return true;
    this.#complete.delete(dir);
    return false;
  }

  /** `dir` was listed whole under `lock` (its names put already). */
  markComplete(dir: number, lock: CacheLock): void {
    if (this.#locks.isHeld(lock.id)) this.#complete.set(dir, lock.id);
  }

  /** A change here left a name of `dir` unknown: no longer complete. */
  notComplete(dir: number): void {
    this.#complete.delete(dir);
  }

  /** Whether listing `dir` whole is worth a try. */
  shouldList(dir: number): boolean {
    return !this.#unlisted.has(dir) && !this.isComplete(dir);
  }

  listFailed(dir: number): void {
    if (this.#unlisted.size >= MAX_UNLISTED) this.#unlisted.clear();
    this.#unlisted.add(dir);
  }

  /** Whether names of `parent` should not be locked now: its LOOKUP lock was called back a moment ago. */
  contended(parent: number): boolean {
    const at = this.#revokedAt.get(parent);
    if (at === undefined) return false;
    if (this.#now() - at < CONTENDED_MS) return true;
    this.#revokedAt.delete(parent);
    return false;
  }

  /** Caches `parent`/`name` → `ino` (null: absent) under `lock`, if it is still held. */
  putName(parent: number, name: string, ino: number | null, lock: CacheLock | undefined): void {
    if (!lock || !this.#locks.isHeld(lock.id)) return;
    if (this.#names.size >= MAX_NAMES) this.#dropAllNames();
    const k = key(parent, name);
    this.#names.set(k, { ino, lock: lock.id });
    const set = this.#namesOf.get(lock.id) ?? new Set<string>();
    set.add(k);
    this.#namesOf.set(lock.id, set);
  }

  dropName(parent: number, name: string): void {
    this.#names.delete(key(parent, name));
  }

  /**
   * Caches `attr` under an UPDATE lock: `granted` (the id the MDS sent with the attributes, taken
   * on here) or else one already held. A second lock on the same inode goes back to the MDS.
   */
  putAttr(attr: Attr, granted: number | undefined, cacheable = true): void {
    const held = this.updateLock(attr.ino);
    let lock = held;
    if (granted !== undefined) {
      const mine = this.#locks.adopt({
        id: granted,
        ino: attr.ino,
        kind: 'ibits',
        mode: 'PR',
        bits: IBITS.UPDATE,
      });
      if (held && held.id !== mine.id) void this.#locks.release(mine).catch(() => undefined);
      else {
        lock = mine;
        if (!held && this.#locks.isHeld(mine.id)) {
          this.#inoLocks.set(attr.ino, mine);
          this.#keep(mine.id, attr.ino);
        }
      }
    }
    if (!cacheable || !lock || this.#writing.has(attr.ino) || !this.#locks.isHeld(lock.id)) return;
    this.#attrs.set(attr.ino, { attr, lock: lock.id });
  }

  dropAttr(ino: number): void {
    this.#attrs.delete(ino);
  }

  /** Drops every cached attribute (a change to an inode whose number is not known here). */
  dropAllAttrs(): void {
    this.#attrs.clear();
  }

  /** This client opened `ino` for writing (or truncation): no attributes until the last such handle is released. */
  writing(ino: number): void {
    this.#writing.set(ino, (this.#writing.get(ino) ?? 0) + 1);
    this.#attrs.delete(ino);
  }

  written(ino: number): void {
    const n = (this.#writing.get(ino) ?? 1) - 1;
    if (n > 0) this.#writing.set(ino, n);
    else this.#writing.delete(ino);
    this.#attrs.delete(ino);
  }

  #keep(id: number, ino: number): void {
    this.#updateLocks.set(id, ino);
    if (this.#updateLocks.size <= MAX_UPDATE_LOCKS) return;
    const [oldId, oldIno] = this.#updateLocks.entries().next().value!;
    this.#updateLocks.delete(oldId);
    const old = this.#inoLocks.get(oldIno);
    if (old?.id !== oldId || !this.#locks.isHeld(oldId)) return;
    this.#inoLocks.delete(oldIno);
    this.#attrs.delete(oldIno);
    void this.#locks.release(old).catch(() => undefined);
  }

  #dropAllNames(): void {
    this.#names.clear();
    this.#namesOf.clear();
    this.#complete.clear();
  }

  /** Directories whose LOOKUP lock was called back within CONTENDED_MS (older ones are pruned). */
  get contendedDirs(): number {
    return this.#revokedAt.size;
  }

  /** Notes when `dir`'s names were called back; forgets directories called back longer ago than CONTENDED_MS. */
  #noteRevoked(dir: number): void {
    const now = this.#now();
    if (this.#revokedAt.size >= PRUNE_REVOKED_AT) {
      for (const [d, at] of this.#revokedAt) if (now - at >= CONTENDED_MS) this.#revokedAt.delete(d);
    }
    this.#revokedAt.set(dir, now);
  }

  #revoked(lock: CacheLock): void {
    if (lock.kind !== 'ibits') return;
    if ((lock.bits & IBITS.LOOKUP) !== 0) {
      for (const k of this.#namesOf.get(lock.id) ?? []) {
        if (this.#names.get(k)?.lock === lock.id) this.#names.delete(k);
      }
      this.#namesOf.delete(lock.id);
      if (this.#dirLocks.get(lock.ino)?.id === lock.id) this.#dirLocks.delete(lock.ino);
      if (this.#complete.get(lock.ino) === lock.id) this.#complete.delete(lock.ino);
      this.#noteRevoked(lock.ino);
    }
    if ((lock.bits & IBITS.UPDATE) !== 0) {
      this.#updateLocks.delete(lock.id);
      if (this.#inoLocks.get(lock.ino)?.id === lock.id) this.#inoLocks.delete(lock.ino);
      if (this.#attrs.get(lock.ino)?.lock === lock.id) this.#attrs.delete(lock.ino);
    }
  }
}
