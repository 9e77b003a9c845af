// Glue between the MGS's view of a file system and the servers that need it: OST lists and object destruction.
import { FsError } from '../../lib/errors.ts';
import type { MgsClient } from '../protocol/mgs-client.ts';
import type { FileSystemConfig, TargetConfig } from '../protocol/mgs-messages.ts';
import { OssClient } from '../protocol/oss-client.ts';
import type { OstInfo } from './layout.ts';

export function ostInfos(config: FileSystemConfig): OstInfo[] {
  return config.osts.map((t) => ({ index: t.index, target: t.target, host: t.host, server: t.server }));
}

/**
 * OSS connections keyed by server address, reused across calls. Addresses come from the MGS's
 * current config, so a server that moved is reached at its new address.
 */
export class OssPool {
  readonly #clients = new Map<string, OssClient>();
  readonly #timeoutMs: number;

  constructor(timeoutMs = 10_000) {
    this.#timeoutMs = timeoutMs;
  }

  get(target: TargetConfig): OssClient {
    let c = this.#clients.get(target.address);
    if (!c) {
      c = new OssClient({ address: target.address, timeoutMs: this.#timeoutMs });
      this.#clients.set(target.address, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}

/** An MDS's `destroyObjects`: finds the target's server in the MGS config and destroys there. */
export function destroyVia(mgs: MgsClient, fsname: string, pool: OssPool) {
  return async (batch: { target: string; objects: string[] }, signal: AbortSignal): Promise<void> => {
    const config = await mgs.getConfig(fsname, signal);
    const target = config.osts.find((t) => t.target === batch.target);
    if (!target) return; // The OST is gone with its objects.
    await pool.get(target).destroy({ target: batch.target, objects: batch.objects }, signal);
  };
}

/** Largest read or write of one resync call (bytes). */
const RESYNC_CHUNK = 16 * 1024 * 1024;

/**
 * An MDS's `resyncObject`: copies `object` from `fromTarget` to `toTarget` chunk by chunk, sets
 * the copy's size to the source's, and syncs it. A missing source object removes the copy.
 */
export function resyncVia(mgs: MgsClient, fsname: string, pool: OssPool, chunk = RESYNC_CHUNK) {
  return async (
    copy: { fromTarget: string; toTarget: string; object: string },
    signal: AbortSignal,
  ): Promise<void> => {
    const config = await mgs.getConfig(fsname, signal);
    const find = (name: string) => {
      const t = config.osts.find((o) => o.target === name);
      if (!t) throw new FsError('ENODEV', `OST ${name} is not in file system ${fsname}`);
      return t;
    };
    const [from, to] = [find(copy.fromTarget), find(copy.toTarget)];
    const [src, dst] = [pool.get(from), pool.get(to)];
    const { object } = copy;
    const attr = await src.getattr({ target: from.target, object }, signal);
    if (!attr) {
      await dst.destroy({ target: to.target, objects: [object] }, signal);
      return;
    }
    for (let offset = 0; offset < attr.size; offset += chunk) {
      const length = Math.min(chunk, attr.size - offset);
      const data = await src.read({ target: from.target, object, offset, length }, signal);
      if (data.length > 0) await dst.write({ target: to.target, object, offset }, data, signal);
    }
    await dst.punch({ target: to.target, object, size: attr.size }, signal);
    await dst.sync({ target: to.target, object }, signal);
  };
}

export function notReady(fsname: string): FsError {
  return new FsError('EAGAIN', `file system "${fsname}" is not served by this MDS (yet)`);
}
