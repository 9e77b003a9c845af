// The MGS's persistent registry of servers and file systems: one JSON file replaced atomically on every change.
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurably } from '../../lib/durable-file.ts';
import type { FileSystemConfig, ServerInfo, TargetConfig } from '../protocol/mgs-messages.ts';
import type { NormalizedRequest } from './validate.ts';

/**
 * A file system and where its life cycle stands. `creating`: targets planned and recorded, maybe
 * not all created yet (a retried create finishes). `destroying`: some targets may remain on their
 * servers (a retried destroy finishes). `pendingOsts`: OSTs an addOsts recorded before creating
 * them; if it was interrupted, the next addOsts or destroy removes them.
 */
export interface FsRecord {
  config: FileSystemConfig;
  request: NormalizedRequest;
  state: 'creating' | 'available' | 'destroying';
  pendingOsts: TargetConfig[];
}

export type RegisteredServer = ServerInfo & { lastSeenMs: number };

interface RegistryFile {
  version: 1;
  servers: ServerInfo[];
  fileSystems: FsRecord[];
}

const FILE = 'mgs-registry.json';

/**
 * In-memory maps, saved by `save()` to `<dataDir>/mgs-registry.json` (temp file, fsync, rename), so a
 * crash leaves the previous or the new registry, never a torn one. Saves run one at a time; a save
 * requested while one runs is folded into the next, which writes the state as of its start.
 */
export class Registry {
  readonly servers = new Map<string, RegisteredServer>();
  readonly fileSystems = new Map<string, FsRecord>();
  readonly #file: string;
  #tail: Promise<void> = Promise.resolve();
  #next: Promise<void> | undefined;
  #writes = 0;

  private constructor(file: string) {
    this.#file = file;
  }

  /** Loads the registry; servers it knew count as seen now, so they are used until they fail to re-register. */
  static async open(dataDir: string, nowMs: number): Promise<Registry> {
    await fs.mkdir(dataDir, { recursive: true });
    const r = new Registry(path.join(dataDir, FILE));
    let text: string | undefined;
    try {
      text = await fs.readFile(r.#file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      const data = JSON.parse(text) as RegistryFile;
      for (const s of data.servers) r.servers.set(s.name, { ...s, lastSeenMs: nowMs });
      for (const f of data.fileSystems) r.fileSystems.set(f.config.fsname, f);
    }
    return r;
  }

  save(): Promise<void> {
    if (this.#next) return this.#next;
    const next = this.#tail
      .catch(() => undefined)
      .then(() => {
        this.#next = undefined;
        return this.#write();
      });
    this.#next = next;
    this.#tail = next;
    this.#writes++;
    void next.then(
      () => this.#writes--,
      () => this.#writes--,
    );
    return next;
  }

  /**
   * Resolves once no save is requested or running: every change made before the call (and any made
   * while waiting) has been written, or its save has failed (its caller was told). Never rejects.
   */
  async settled(): Promise<void> {
    while (this.#writes > 0) await this.#tail.catch(() => undefined);
  }

  async #write(): Promise<void> {
    const data: RegistryFile = {
      version: 1,
      servers: [...this.servers.values()].map(({ lastSeenMs: _, ...info }) => info),
      fileSystems: [...this.fileSystems.values()],
    };
    await writeFileDurably(this.#file, JSON.stringify(data, null, 1));
  }
}
