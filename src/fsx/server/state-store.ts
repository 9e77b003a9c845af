// The API's durable state: one JSON document, replaced atomically (write, fsync, rename, fsync dir) on every commit.

import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurably } from '../../lib/durable-file.ts';
import { NacreError } from '../../lib/errors.ts';
import type { ApiState } from './model.ts';

const FILE = 'fsx-api-state.json';

function emptyState(): ApiState {
  return { version: 1, fileSystems: {}, backups: {}, tokens: {} };
}

/**
 * Holds the state in memory; callers mutate `state` synchronously and then `await commit()`.
 * A commit resolves once a write that started after the call has reached the disk, so an
 * acknowledged change survives a crash. Concurrent commits share one write (group commit).
 */
export class StateStore {
  readonly state: ApiState;
  readonly #file: string;
  #writing: Promise<void> | undefined;
  #queued: Promise<void> | undefined;

  private constructor(file: string, state: ApiState) {
    this.#file = file;
    this.state = state;
  }

  /** Loads the state from `dir` (creating the directory), or starts empty. */
  static async open(dir: string): Promise<StateStore> {
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, FILE);
    let state = emptyState();
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as ApiState;
      if (parsed.version !== 1)
        throw new NacreError(
          'UnknownStateVersion',
          `${file}: unknown state version ${String(parsed.version)}`,
        );
      state = { ...emptyState(), ...parsed };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return new StateStore(file, state);
  }

  commit(): Promise<void> {
    if (this.#queued) return this.#queued;
    const previous = this.#writing ?? Promise.resolve();
    const next: Promise<void> = previous
      .catch(() => {})
      .then(() => {
        this.#queued = undefined;
        this.#writing = next;
        return this.#write();
      })
      .finally(() => {
        if (this.#writing === next) this.#writing = undefined;
      });
    this.#queued = next;
    return next;
  }

  async #write(): Promise<void> {
    await writeFileDurably(this.#file, JSON.stringify(this.state));
  }
}
