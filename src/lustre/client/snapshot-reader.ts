// Reading a point-in-time snapshot of the file system: its tree from the MDS, its objects from the OSTs as they were at the snapshot.
import { FsError } from '../../lib/errors.ts';
import type { MdsMethods } from '../protocol/mds-messages.ts';
import { glimpseLayout, mapRange, objectId, readableCopies } from '../striping.ts';
import type { Layout } from '../types.ts';
import type { MdsSession } from './mds-session.ts';
import type { OstPool } from './ost-pool.ts';

export type SnapshotEntry = MdsMethods['snapshotList']['result']['entries'][number];

const PAGE = 1024;

/**
 * One snapshot (taken by `SnapshotReader.take`). Entries come parents first with their size at
 * the snapshot (for a file a writer had open then, read from the snapshot's objects); `read`
 * returns a file's bytes as they were then, holes as zeros. `drop` forgets the snapshot.
 */
export class SnapshotReader {
  readonly id: string;
  readonly createdAtMs: number;
  readonly #mds: MdsSession;
  readonly #pool: OstPool;

  private constructor(mds: MdsSession, pool: OstPool, id: string, createdAtMs: number) {
    this.#mds = mds;
    this.#pool = pool;
    this.id = id;
    this.createdAtMs = createdAtMs;
  }

  /** Takes snapshot `id` of the whole file system (a brief barrier on the MDS and every OST). */
  static async take(
    mds: MdsSession,
    pool: OstPool,
    id: string,
    signal?: AbortSignal,
  ): Promise<SnapshotReader> {
    const { createdAtMs } = await mds.call('snapshotCreate', { id }, signal);
    return new SnapshotReader(mds, pool, id, createdAtMs);
  }

  async *entries(signal?: AbortSignal): AsyncGenerator<SnapshotEntry> {
    for (let cursor: number | undefined = 0; cursor !== undefined; ) {
      const page: MdsMethods['snapshotList']['result'] = await this.#mds.call(
        'snapshotList',
        { id: this.id, cursor, limit: PAGE },
        signal,
      );
      for (const e of page.entries) yield await this.#sized(e, signal);
      cursor = page.next;
    }
  }

  /** Up to `length` bytes at `offset` of a file of the snapshot (fewer at its end). */
  async read(e: SnapshotEntry, offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    const end = Math.min(e.attr.size, offset + length);
    if (end <= offset || !e.layout) return Buffer.alloc(Math.max(0, end - offset));
    const layout = e.layout;
    const out = Buffer.alloc(end - offset);
    await Promise.all(
      mapRange(layout, offset, end - offset).map(async (c) => {
        const data = await this.#readStripe(e.attr.ino, layout, c.stripe, c.objectOffset, c.length, signal);
        data.copy(out, c.bufferOffset);
      }),
    );
    return out;
  }

  drop(signal?: AbortSignal): Promise<null> {
    return this.#mds.call('snapshotDrop', { id: this.id }, signal);
  }

  async #readStripe(
    ino: number,
    layout: Layout,
    stripe: number,
    off: number,
    len: number,
    signal?: AbortSignal,
  ) {
    let last: unknown;
    for (const ost of readableCopies(layout, stripe)) {
      try {
        return await this.#pool.readSnapshot(this.id, ost, objectId(ino, stripe), off, len, signal);
      } catch (err) {
        last = err;
      }
    }
    throw new FsError('EIO', `no copy of ${objectId(ino, stripe)} answered for snapshot ${this.id}`, {
      cause: last,
    });
  }

  /** A file a writer had open at the snapshot: its size is what its objects held then, if more. */
  async #sized(e: SnapshotEntry, signal?: AbortSignal): Promise<SnapshotEntry> {
    const { sizeOnOsts, ...attr } = e.attr;
    if (!sizeOnOsts || !e.layout) return { ...e, attr };
    const id = this.id;
    const onOsts = await glimpseLayout(e.layout, {
      sizeOf: (ost, stripe) => this.#pool.snapshotSize(id, ost, objectId(attr.ino, stripe), signal),
      passOver: () => {},
      noCopy: (stripe, last) =>
        new FsError('EIO', `no copy of ${objectId(attr.ino, stripe)} answered for snapshot ${id}`, {
          cause: last,
        }),
    });
    return onOsts > attr.size
      ? { ...e, attr: { ...attr, size: onOsts, blocks: Math.ceil(onOsts / 512) } }
      : { ...e, attr };
  }
}
