// What the node plugin remembers across restarts, one JSON file per staged volume in --state-dir (the mount table stays the truth).
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type Backend = 'emulated' | 'aws';

export interface VolumeRecord {
  volumeId: string;
  backend: Backend;
  stagingPath: string;
  /** `<dnsName>@tcp:/<mountName>` */
  source: string;
  dnsName: string;
  mountName: string;
  options: string[];
  /** Published target paths and whether each is read-only. */
  targets: Record<string, { readOnly: boolean; subPath: string; singleWriter?: boolean }>;
}

/**
 * Per-volume records, written atomically (temp file + rename). A record says what the plugin meant
 * to do; whether it is done is always read from /proc/self/mountinfo, so a record left by a crash
 * half-way never makes a call succeed that should not.
 */
export class NodeState {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'volumes');
  }

  private file(volumeId: string): string {
    return join(this.dir, `${createHash('sha256').update(volumeId).digest('hex').slice(0, 32)}.json`);
  }

  async get(volumeId: string): Promise<VolumeRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.file(volumeId), 'utf8')) as VolumeRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async put(record: VolumeRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file = this.file(record.volumeId);
    const tmp = `${file}.tmp`;
    await writeFile(tmp, `${JSON.stringify(record, null, 1)}\n`);
    await rename(tmp, file);
  }

  /** Not an error when there is no record. */
  async remove(volumeId: string): Promise<void> {
    await rm(this.file(volumeId), { force: true });
  }

  async list(): Promise<VolumeRecord[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: VolumeRecord[] = [];
    for (const n of names.filter((x) => x.endsWith('.json'))) {
      try {
        out.push(JSON.parse(await readFile(join(this.dir, n), 'utf8')) as VolumeRecord);
      } catch {
        // A record being replaced right now: the next pass sees it.
      }
    }
    return out;
  }
}
