// One OST on local disk: its directory, capacity and space accounting, and the object operations on it.
//
// Layout: <dataDir>/<target>/target.json (capacity) and <dataDir>/<target>/objects/<xx>/<ino>.<stripe>,
// xx = low byte of the FNV-1a hash of the id, 256 directories created with the target.
//
// Space accounting: `used` is the sum of the bytes the objects' files have allocated on disk
// (st_blocks * 512), so holes cost nothing. It is recomputed by scanning every object when the target
// is opened and kept current afterwards from an fstat after each change. A write first reserves the
// most it could allocate (the file-system blocks it touches beyond the object's dense prefix) and
// fails with ENOSPC if used + reservations would pass the capacity; overwriting allocated data always fits.
import { constants } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir } from '../../lib/durable-file.ts';
import { FsError } from '../../lib/errors.ts';
import type { StatTarget } from '../protocol/oss-messages.ts';
import type { CachedObject, HandleCache } from './handle-cache.ts';
import { objectDir, objectPath } from './names.ts';
import { OstSnapshots, readFileRange, readFull, readRange } from './snapshots.ts';
import { makeTargetDir, readTargetFile, scanObjects, worstCaseAllocation } from './target-files.ts';

interface OpenedObject {
  handle: FileHandle;
  size: number;
  allocated: number;
}

function sizeAndBlocks(st: { size: number; blocks: number }): { size: number; blocks: number } {
  return { size: st.size, blocks: st.blocks };
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export class OstTarget {
  readonly name: string;
  readonly dir: string;
  readonly capacityBytes: number;
  #used = 0;
  #reserved = 0;
  #objects = 0;
  #inflight = 0;
  #drained: PromiseWithResolvers<void> | undefined;
  #closed = false;
  readonly #cache: HandleCache;
  /** Point-in-time snapshots of this OST's objects (copy-on-write; see snapshots.ts). */
  readonly snapshots: OstSnapshots;
  /** Object directories holding files created since that directory was last fsynced. */
  readonly #dirtyDirs = new Set<string>();

  private constructor(name: string, dir: string, capacityBytes: number, cache: HandleCache) {
    this.name = name;
    this.dir = dir;
    this.capacityBytes = capacityBytes;
    this.#cache = cache;
    this.snapshots = new OstSnapshots(dir);
  }

  get usedBytes(): number {
    return this.#used;
  }

  /** Creates the target's directories and config durably. */
  static async create(
    dir: string,
    name: string,
    capacityBytes: number,
    cache: HandleCache,
  ): Promise<OstTarget> {
    await makeTargetDir(dir, name, capacityBytes);
    return new OstTarget(name, dir, capacityBytes, cache);
  }

  /** Opens an existing target, recomputing its space use from the objects on disk; undefined if `dir` holds none. */
  static async open(dir: string, cache: HandleCache): Promise<OstTarget | undefined> {
    const config = await readTargetFile(dir);
    if (!config) return undefined;
    const t = new OstTarget(config.target, dir, config.capacityBytes, cache);
    const scanned = await scanObjects(dir);
    t.#objects = scanned.objects;
    t.#used = scanned.usedBytes;
    await t.snapshots.load();
    return t;
  }

  statfs(diskAvailBytes: number): StatTarget {
    return {
      target: this.name,
      capacityBytes: this.capacityBytes,
      usedBytes: this.#used,
      availBytes: Math.max(0, Math.min(this.capacityBytes - this.#used, diskAvailBytes)),
      objects: this.#objects,
    };
  }

  async write(id: string, offset: number, data: Buffer, sync: boolean): Promise<number> {
    if (data.length === 0) return 0;
    const end = await this.#beforeChange([id]);
    try {
      return await this.#write(id, offset, data, sync);
    } finally {
      end();
    }
  }

  /**
   * Every change waits out a snapshot barrier, and first keeps what it changes in the active
   * snapshots (under the object's exclusive lock, so a snapshot read of the live object is never
   * overtaken). Returns the function that ends the change.
   */
  async #beforeChange(ids: readonly string[]): Promise<() => void> {
    const end = await this.snapshots.beginChange();
    try {
      if (this.snapshots.active) {
        for (const id of ids) {
          const file = objectPath(this.dir, id);
          const kept = await this.#withObject(id, false, true, async () => {
            await this.snapshots.preserve(id, file);
            return true;
          });
          if (!kept) await this.snapshots.preserve(id, file);
        }
      }
      return end;
    } catch (err) {
      end();
      throw err;
    }
  }

  /** Up to `length` bytes at `offset` of the object as it was when snapshot `snap` was taken. */
  readSnapshot(snap: string, id: string, offset: number, length: number): Promise<Buffer> {
    return this.#asOfSnapshot(
      snap,
      id,
      (o) => readRange(o.handle, offset, length),
      (file) => readFileRange(file, offset, length),
      Buffer.alloc(0),
    );
  }

  /** The object's size when snapshot `snap` was taken (null: it did not exist). */
  getattrSnapshot(snap: string, id: string): Promise<{ size: number; blocks: number } | null> {
    return this.#asOfSnapshot(
      snap,
      id,
      async (o) => sizeAndBlocks(await o.handle.stat()),
      async (file) => sizeAndBlocks(await fs.stat(file)),
      null,
    );
  }

  /**
   * What `live` reads from the object while the snapshot still shares it (not changed since), else
   * what `copy` reads from the copy kept at its first change; `none` if there is neither.
   */
  async #asOfSnapshot<T>(
    snap: string,
    id: string,
    live: (o: CachedObject) => Promise<T>,
    copy: (file: string) => Promise<T>,
    none: T,
  ): Promise<T> {
    const fromCopy = async () => {
      const src = await this.snapshots.source(snap, id);
      return src.kind === 'copy' ? await copy(src.file) : none;
    };
    const out = await this.#withObject(id, false, false, async (o) => ({
      value: (await this.snapshots.source(snap, id)).kind === 'live' ? await live(o) : await fromCopy(),
    }));
    return out ? out.value : await fromCopy();
  }

  async #write(id: string, offset: number, data: Buffer, sync: boolean): Promise<number> {
    const written = await this.#withObject(id, true, false, async (o) => {
      const reserve = worstCaseAllocation(o, offset, data.length);
      if (this.#used + this.#reserved + reserve > this.capacityBytes) {
        throw new FsError(
          'ENOSPC',
          `target ${this.name} is full (${this.#used} of ${this.capacityBytes} bytes used)`,
        );
      }
      this.#reserved += reserve;
      try {
        let done = 0;
        while (done < data.length) {
          const { bytesWritten } = await o.handle.write(data, done, data.length - done, offset + done);
          done += bytesWritten;
        }
        o.size = Math.max(o.size, offset + data.length);
        if (sync) await this.#sync(id, o);
        await this.#account(o);
        return done;
      } finally {
        this.#reserved -= reserve;
      }
    });
    return written ?? 0;
  }

  /** Up to `length` bytes at `offset` (into `into` when given); fewer at the object's end, none for a missing object. */
  async read(id: string, offset: number, length: number, into?: Buffer): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    const out = await this.#withObject(id, false, false, (o) => readRange(o.handle, offset, length, into));
    return out ?? Buffer.alloc(0);
  }

  /** Fills `buf` with bytes at `offset` (fewer at the object's end, none for a missing object); resolves with the bytes read. */
  async readInto(id: string, offset: number, buf: Buffer): Promise<number> {
    if (buf.length === 0) return 0;
    return (await this.#withObject(id, false, false, (o) => readFull(o.handle, offset, buf))) ?? 0;
  }

  async punch(id: string, size: number): Promise<void> {
    const end = await this.#beforeChange([id]);
    try {
      await this.#withObject(id, true, true, async (o) => {
        await o.handle.truncate(size);
        o.size = size;
        await this.#account(o);
      });
    } finally {
      end();
    }
  }

  async sync(id: string): Promise<void> {
    await this.#withObject(id, false, false, (o) => this.#sync(id, o));
  }

  async getattr(id: string): Promise<{ size: number; blocks: number } | null> {
    const out = await this.#withObject(id, false, false, async (o) => sizeAndBlocks(await o.handle.stat()));
    return out ?? null;
  }

  /** Removes the objects; missing ones are ignored. */
  async destroy(ids: readonly string[]): Promise<void> {
    const end = await this.#beforeChange(ids);
    try {
      await this.#destroy(ids);
    } finally {
      end();
    }
  }

  async #destroy(ids: readonly string[]): Promise<void> {
    const queue = [...ids];
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        await this.#withObject(id, false, true, async (o) => {
          await this.#account(o);
          await fs.unlink(objectPath(this.dir, id));
          this.#cache.remove(o);
          this.#used -= o.allocated;
          this.#objects--;
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, ids.length) }, worker));
  }

  /** Refuses new operations and resolves when the running ones have finished. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#inflight > 0) {
      this.#drained ??= Promise.withResolvers<void>();
      await this.#drained.promise;
    }
    await this.#cache.closeWhere(`${this.name}/`);
  }

  /**
   * Runs `fn` on the object with its lock held (shared, or exclusive for `exclusive`). Opens the
   * file through the cache, creating it when `create`; resolves undefined without calling `fn`
   * when the object does not exist and `create` is false.
   */
  async #withObject<T>(
    id: string,
    create: boolean,
    exclusive: boolean,
    fn: (o: CachedObject) => Promise<T>,
  ): Promise<T | undefined> {
    if (this.#closed) throw new FsError('ENODEV', `target ${this.name} is being destroyed`);
    this.#inflight++;
    try {
      for (;;) {
        const o = await this.#cache.acquire(`${this.name}/${id}`, () => this.#openObject(id, create));
        if (!o) return undefined;
        try {
          await o.lock.lock(exclusive);
          try {
            if (!o.dead) return await fn(o);
          } finally {
            o.lock.unlock(exclusive);
          }
        } finally {
          this.#cache.release(o);
        }
      }
    } finally {
      if (--this.#inflight === 0) this.#drained?.resolve();
    }
  }

  async #openObject(id: string, create: boolean): Promise<OpenedObject | undefined> {
    const file = objectPath(this.dir, id);
    let handle: FileHandle;
    try {
      handle = await fs.open(file, constants.O_RDWR);
    } catch (err) {
      if (errCode(err) !== 'ENOENT') throw err;
      return create ? await this.#createObject(id, file) : undefined;
    }
    try {
      const st = await handle.stat();
      return { handle, size: st.size, allocated: st.blocks * 512 };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Creates the object's file (and its directory if someone removed it); opens it if it appeared meanwhile. */
  async #createObject(id: string, file: string): Promise<OpenedObject | undefined> {
    const dir = objectDir(this.dir, id);
    const create = () => fs.open(file, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
    let handle: FileHandle;
    try {
      handle = await create().catch(async (err: unknown) => {
        if (errCode(err) !== 'ENOENT') throw err;
        await fs.mkdir(dir, { recursive: true });
        await fsyncDir(path.dirname(dir));
        return await create();
      });
    } catch (err) {
      if (errCode(err) === 'EEXIST') return await this.#openObject(id, false);
      throw err;
    }
    this.#objects++;
    this.#dirtyDirs.add(dir);
    return { handle, size: 0, allocated: 0 };
  }

  /** fdatasync of the object, and of its directory if the object's creation is not yet durable. */
  async #sync(id: string, o: CachedObject): Promise<void> {
    await o.handle.datasync();
    const dir = objectDir(this.dir, id);
    if (this.#dirtyDirs.delete(dir)) {
      try {
        await fsyncDir(dir);
      } catch (err) {
        this.#dirtyDirs.add(dir);
        throw err;
      }
    }
  }

  /** Brings `used` up to date with the object's allocation on disk (newest fstat wins). */
  async #account(o: CachedObject): Promise<void> {
    const seq = ++o.statIssued;
    const st = await o.handle.stat();
    if (seq <= o.statApplied || o.dead) return;
    o.statApplied = seq;
    const allocated = st.blocks * 512;
    this.#used += allocated - o.allocated;
    o.allocated = allocated;
    o.size = st.size;
  }
}
