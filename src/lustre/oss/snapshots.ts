// OST-side object snapshots for point-in-time backups: a write barrier, then copy-on-write of each object's first change after the snapshot.
//
// Layout: <target dir>/snapshots/<id>/ holds, for every object changed since snapshot <id> was
// taken, its content at that instant (a copy named like the object) or "<object>.absent" when it did
// not exist then. An object not there is unchanged since: the live object is the snapshot's.
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir, writeFileDurably } from '../../lib/durable-file.ts';
import { FsError } from '../../lib/errors.ts';
import { logger } from '../../lib/log.ts';

const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const log = logger('oss');

/** Checks a snapshot id from the wire (EINVAL). */
export function checkSnapshotId(v: unknown): string {
  if (typeof v !== 'string' || !ID.test(v))
    throw new FsError('EINVAL', 'a snapshot id is 1-128 of A-Z a-z 0-9 _ -');
  return v;
}

/** Where an object's content at a snapshot's instant is. */
export type SnapshotSource = { kind: 'live' } | { kind: 'copy'; file: string } | { kind: 'absent' };

/**
 * Snapshots of one OST. `freeze` stops new changes (write, punch, destroy) and waits for those
 * running; `activate` records the snapshot and lets changes go on, each first preserving what it
 * changes (`preserve`, under the object's exclusive lock, taken by the caller). A freeze that is
 * not activated within its lease ends by itself, so a coordinator that died leaves no OST frozen.
 */
export class OstSnapshots {
  readonly #dir: string;
  /** Active snapshot → objects preserved in it (copies and absences). */
  readonly #active = new Map<string, Set<string>>();
  #gate: { id: string; open: PromiseWithResolvers<void>; timer: NodeJS.Timeout } | undefined;
  #changing = 0;
  readonly #pending = new Map<string, Promise<void>>();
  #idle: PromiseWithResolvers<void> | undefined;

  constructor(targetDir: string) {
    this.#dir = path.join(targetDir, 'snapshots');
  }

  /** Loads the snapshots a previous run left (they stay active until dropped). */
  async load(): Promise<void> {
    let ids: string[];
    try {
      ids = await fs.readdir(this.#dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const id of ids) {
      if (!ID.test(id)) continue;
      const names = await fs.readdir(path.join(this.#dir, id));
      this.#active.set(
        id,
        new Set(names.filter((n) => !n.includes('.tmp-')).map((n) => n.replace(/\.absent$/, ''))),
      );
    }
  }

  /** Whether any snapshot is active (changes must preserve first). */
  get active(): boolean {
    return this.#active.size > 0;
  }

  /** Waits while frozen, then counts a change in progress; call the returned function when it is done. */
  async beginChange(): Promise<() => void> {
    while (this.#gate) await this.#gate.open.promise;
    this.#changing++;
    return () => {
      if (--this.#changing === 0) this.#idle?.resolve();
    };
  }

  /** The write barrier: no change starts until `activate` (or the lease ends); resolves once none runs. */
  async freeze(id: string, leaseMs: number): Promise<void> {
    if (this.#gate && this.#gate.id !== id)
      throw new FsError('EBUSY', `snapshot ${this.#gate.id} is being taken`);
    if (!this.#gate) {
      const timer = setTimeout(() => {
        log.warn('snapshot barrier not completed within its lease: changes resume', { snapshot: id });
        this.#thaw();
      }, leaseMs);
      timer.unref();
      this.#gate = { id, open: Promise.withResolvers<void>(), timer };
    }
    while (this.#changing > 0) {
      this.#idle = Promise.withResolvers<void>();
      if (this.#changing > 0) await this.#idle.promise;
    }
  }

  /** Records snapshot `id` (durably) and ends the barrier. EINVAL unless this OST is frozen for it. */
  async activate(id: string): Promise<void> {
    if (this.#gate?.id !== id)
      throw new FsError('EINVAL', `no barrier for snapshot ${id} (its lease may have ended)`);
    await fs.mkdir(path.join(this.#dir, id), { recursive: true });
    await fsyncDir(this.#dir);
    await fsyncDir(path.dirname(this.#dir));
    this.#active.set(id, this.#active.get(id) ?? new Set());
    this.#thaw();
  }

  /** Forgets snapshot `id` and its preserved copies (idempotent); ends its barrier if it had one. */
  async drop(id: string): Promise<void> {
    if (this.#gate?.id === id) this.#thaw();
    this.#active.delete(id);
    await fs.rm(path.join(this.#dir, id), { recursive: true, force: true });
  }

  /**
   * Before `object` first changes after a snapshot: keeps its current content (or its absence) in
   * every active snapshot that has not kept it yet. The caller holds the object's exclusive lock.
   */
  async preserve(object: string, live: string): Promise<void> {
    // One preservation of an object at a time: a second waits, then finds it kept.
    for (let p = this.#pending.get(object); p; p = this.#pending.get(object)) await p.catch(() => undefined);
    if ([...this.#active.values()].every((kept) => kept.has(object))) return;
    const run = this.#preserveNow(object, live);
    this.#pending.set(object, run);
    try {
      await run;
    } finally {
      this.#pending.delete(object);
    }
  }

  async #preserveNow(object: string, live: string): Promise<void> {
    for (const [id, kept] of this.#active) {
      if (kept.has(object)) continue;
      const dir = path.join(this.#dir, id);
      try {
        const tmp = path.join(dir, `${object}.tmp-${process.pid}`);
        await fs.copyFile(live, tmp, constants.COPYFILE_FICLONE);
        const h = await fs.open(tmp, 'r+');
        try {
          await h.datasync();
        } finally {
          await h.close();
        }
        await fs.rename(tmp, path.join(dir, object));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        await writeFileDurably(path.join(dir, `${object}.absent`), '');
      }
      await fsyncDir(dir);
      kept.add(object);
    }
  }

  /** Where `object`'s content at snapshot `id` is (ENOENT for an unknown snapshot). */
  async source(id: string, object: string): Promise<SnapshotSource> {
    const kept = this.#active.get(id);
    if (!kept) throw new FsError('ENOENT', `no snapshot ${id} on this OST`);
    if (!kept.has(object)) return { kind: 'live' };
    const file = path.join(this.#dir, id, object);
    try {
      await fs.access(file);
      return { kind: 'copy', file };
    } catch {
      return { kind: 'absent' };
    }
  }

  #thaw(): void {
    const g = this.#gate;
    if (!g) return;
    this.#gate = undefined;
    clearTimeout(g.timer);
    g.open.resolve();
  }
}

/** Up to `length` bytes at `offset` of a file (fewer at its end). */
export async function readFileRange(file: string, offset: number, length: number): Promise<Buffer> {
  const h = await fs.open(file, 'r');
  try {
    return await readRange(h, offset, length);
  } finally {
    await h.close();
  }
}

/** Up to `length` bytes at `offset` of an open file (into `into` when given); fewer at its end. */
export async function readRange(
  h: fs.FileHandle,
  offset: number,
  length: number,
  into?: Buffer,
): Promise<Buffer> {
  const buf = into ? into.subarray(0, length) : Buffer.allocUnsafe(length);
  return buf.subarray(0, await readFull(h, offset, buf));
}

/** Fills `buf` with the file's bytes at `offset`; fewer at its end. Resolves with the bytes read. */
export async function readFull(h: fs.FileHandle, offset: number, buf: Buffer): Promise<number> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await h.read(buf, got, buf.length - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}
