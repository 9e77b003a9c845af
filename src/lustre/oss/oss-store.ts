// The OSTs of one OSS: loading them from the data directory, creating and destroying them, and free space.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir } from '../../lib/durable-file.ts';
import { FsError } from '../../lib/errors.ts';
import { logger } from '../../lib/log.ts';
import type { StatTarget } from '../protocol/oss-messages.ts';
import { HandleCache } from './handle-cache.ts';
import { checkTarget } from './names.ts';
import { OstTarget } from './ost-target.ts';

const log = logger('oss');
const TRASH = '.trash-';

/**
 * Owns `<dataDir>/<target>/` for every target. Target creation and destruction are serialised;
 * object operations on a target run concurrently. A target that does not exist on this server is
 * the error code ENODEV (as Lustre answers for an OST it does not serve).
 */
export class OssStore {
  readonly dataDir: string;
  readonly #targets = new Map<string, OstTarget>();
  readonly #cache: HandleCache;
  #admin: Promise<unknown> = Promise.resolve();

  private constructor(dataDir: string, maxOpenFiles: number) {
    this.dataDir = dataDir;
    this.#cache = new HandleCache(maxOpenFiles);
  }

  /** Opens every target under `dataDir` (recomputing its space use) and finishes interrupted destroys. */
  static async open(dataDir: string, maxOpenFiles = 512): Promise<OssStore> {
    await fs.mkdir(dataDir, { recursive: true });
    const store = new OssStore(dataDir, maxOpenFiles);
    for (const entry of await fs.readdir(dataDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = path.join(dataDir, entry.name);
      if (entry.name.startsWith(TRASH)) {
        await fs.rm(dir, { recursive: true, force: true });
        continue;
      }
      const target = await OstTarget.open(dir, store.#cache);
      if (target) store.#targets.set(target.name, target);
    }
    log.info('OSS store opened', { dataDir, targets: [...store.#targets.keys()] });
    return store;
  }

  get(name: string): OstTarget {
    const t = this.#targets.get(checkTarget(name));
    if (!t) throw new FsError('ENODEV', `no target ${name} on this server`);
    return t;
  }

  targets(): OstTarget[] {
    return [...this.#targets.values()];
  }

  /** Idempotent for the same capacity; EEXIST if the target exists with another capacity. */
  createTarget(name: string, capacityBytes: number): Promise<void> {
    checkTarget(name);
    return this.#serialised(async () => {
      const existing = this.#targets.get(name);
      if (existing) {
        if (existing.capacityBytes === capacityBytes) return;
        throw new FsError(
          'EEXIST',
          `target ${name} exists with capacity ${existing.capacityBytes}, not ${capacityBytes}`,
        );
      }
      const t = await OstTarget.create(path.join(this.dataDir, name), name, capacityBytes, this.#cache);
      this.#targets.set(name, t);
      log.info('target created', { target: name, capacityBytes });
    });
  }

  /** Removes the target and its objects; not an error if it does not exist. Survives a crash midway. */
  destroyTarget(name: string): Promise<void> {
    checkTarget(name);
    return this.#serialised(async () => {
      const t = this.#targets.get(name);
      this.#targets.delete(name);
      await t?.close();
      const dir = path.join(this.dataDir, name);
      const trash = path.join(this.dataDir, `${TRASH}${name}-${Date.now()}`);
      try {
        await fs.rename(dir, trash);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      await fsyncDir(this.dataDir);
      await fs.rm(trash, { recursive: true, force: true });
      log.info('target destroyed', { target: name });
    });
  }

  async statfs(name: string): Promise<StatTarget> {
    const t = this.get(name);
    return t.statfs(await this.diskAvailBytes());
  }

  /** Bytes the disk under dataDir can still take (for unprivileged users). */
  async diskAvailBytes(): Promise<number> {
    const st = await fs.statfs(this.dataDir);
    return st.bavail * st.bsize;
  }

  /**
   * Bytes this server can give to new targets: its budget — the configured capacity, or by default
   * what the disk could hold (free space plus what the targets already use) — minus the capacities
   * already given to its targets. Never negative.
   */
  async capacityForNewTargets(configuredBytes?: number): Promise<number> {
    const targets = this.targets();
    const used = targets.reduce((sum, t) => sum + t.usedBytes, 0);
    const committed = targets.reduce((sum, t) => sum + t.capacityBytes, 0);
    const disk = (await this.diskAvailBytes()) + used;
    return Math.max(0, Math.min(configuredBytes ?? disk, disk) - committed);
  }

  /** Closes every target's open files. */
  async close(): Promise<void> {
    await this.#serialised(async () => {
      await Promise.all(this.targets().map((t) => t.close()));
      this.#targets.clear();
    });
  }

  #serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#admin.then(fn, fn);
    this.#admin = run.catch(() => undefined);
    return run;
  }
}
