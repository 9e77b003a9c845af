// Invalidation notifications to the kernel (FUSE_NOTIFY_INVAL_INODE / _ENTRY), written one at a time off the JS thread.
import type { Logger } from '../../lib/log.ts';
import type { InvalidateEvent } from '../types.ts';
import { encodeNotifyInvalEntry, encodeNotifyInvalInode } from './codec-out.ts';
import type { FuseDevice } from './device.ts';

/**
 * Queues invalidations and writes them to /dev/fuse asynchronously and in order. They must never be
 * written synchronously from the JS thread: invalidating an inode's pages waits for page locks that
 * in-flight reads hold, and those reads wait for this very thread to reply. Duplicate pending
 * events collapse into one. Events for inodes the kernel does not know (`known` false) are dropped:
 * there is nothing cached to drop.
 */
export class Notifier {
  private readonly device: FuseDevice;
  private readonly known: (ino: number) => boolean;
  private readonly log: Logger;
  private readonly queue: Array<{ key: string; msg: Buffer }> = [];
  private readonly pending = new Set<string>();
  private writing: Promise<void> | undefined;
  /** Callers waiting for a queued key to be written. */
  private readonly waiters = new Map<string, Array<() => void>>();
  private stopped = false;
  /** Notifications written, and those the kernel refused (e.g. ENOENT: not cached). */
  sent = 0;
  refused = 0;

  constructor(device: FuseDevice, log: Logger, known: (ino: number) => boolean) {
    this.device = device;
    this.log = log;
    this.known = known;
  }

  /**
   * Queues `event`; resolves once the kernel has applied it (its write returned: for an inode, its
   * pages are gone, dirty ones written back first), at once when there is nothing to drop.
   */
  enqueue(event: InvalidateEvent): Promise<void> {
    const target = event.kind === 'inode' ? event.ino : event.parent;
    if (!this.known(target) || this.stopped) return Promise.resolve();
    const key = event.kind === 'inode' ? `i${event.ino}` : `e${event.parent}/${event.name}`;
    const applied = Promise.withResolvers<void>();
    const waiting = this.waiters.get(key);
    if (waiting) waiting.push(applied.resolve);
    else this.waiters.set(key, [applied.resolve]);
    if (this.pending.has(key)) return applied.promise;
    const msg =
      event.kind === 'inode'
        ? encodeNotifyInvalInode(event.ino)
        : encodeNotifyInvalEntry(event.parent, event.name);
    this.pending.add(key);
    this.queue.push({ key, msg });
    this.writing ??= this.drain();
    return applied.promise;
  }

  /** Drops what is queued; resolves when no write is in progress, so the descriptor can be closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    this.pending.clear();
    await this.writing;
    for (const w of this.waiters.values()) for (const resolve of w) resolve();
    this.waiters.clear();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const { key, msg } = this.queue.shift()!;
      this.pending.delete(key);
      const waiting = this.waiters.get(key) ?? [];
      this.waiters.delete(key);
      await new Promise<void>((resolve) => {
        this.device.write(msg, (err) => {
          if (err) {
            this.refused++;
            if (err.code !== 'ENOENT') this.log.debug('invalidation refused', { key, code: err.code });
          } else this.sent++;
          resolve();
          for (const w of waiting) w();
        });
      });
    }
    this.writing = undefined;
  }
}
