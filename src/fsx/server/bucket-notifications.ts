// The bucket notifications of every association with automatic import: one queue configuration per covered prefix, merged so that associations (of one or several file systems) sharing a bucket each get their events.
import { createHash } from 'node:crypto';
import type { NotificationEvent, NotificationTarget, ObjectStore } from '../../platform/object-store.ts';
import type { DataRepositoryAssociation } from './repository-model.ts';
import { parseS3Path } from './repository-rules.ts';

interface Wanted {
  prefix: string;
  events: NotificationEvent[];
}

function wanted(a: DataRepositoryAssociation): Wanted | undefined {
  const events = a.S3?.AutoImportPolicy?.Events ?? [];
  if (events.length === 0) return undefined;
  return {
    prefix: parseS3Path(a.DataRepositoryPath).prefix,
    events: [
      ...(events.some((e) => e !== 'DELETED') ? ['created' as const] : []),
      ...(events.includes('DELETED') ? ['removed' as const] : []),
    ],
  };
}

/**
 * The queue configurations `wants` needs: a prefix inside another one is covered by it (S3 refuses
 * overlapping prefixes for one queue), its events joined; the receiver filters events per
 * association, so a wider configuration only costs events nobody keeps.
 */
export function notificationTargets(wants: Iterable<Wanted>): NotificationTarget[] {
  const kept: Wanted[] = [];
  for (const w of [...wants].sort((a, b) => a.prefix.length - b.prefix.length)) {
    const cover = kept.find((k) => w.prefix.startsWith(k.prefix));
    if (cover) cover.events = [...new Set([...cover.events, ...w.events])];
    else kept.push({ prefix: w.prefix, events: [...w.events] });
  }
  return kept.map((k) => ({
    id: `nacre-${createHash('sha256').update(k.prefix).digest('hex').slice(0, 16)}`,
    prefix: k.prefix,
    events: k.events.sort(),
  }));
}

/** What this emulator asks of each bucket, kept per association; `sync` writes a bucket's share. */
export class BucketNotifications {
  readonly #store: ObjectStore;
  readonly #queueArn: string;
  readonly #byBucket = new Map<string, Map<string, Wanted>>();

  constructor(store: ObjectStore, queueArn: string) {
    this.#store = store;
    this.#queueArn = queueArn;
  }

  /** Records the association's needs (or drops them when it has no automatic import); returns its bucket. */
  note(a: DataRepositoryAssociation): string {
    const { bucket } = parseS3Path(a.DataRepositoryPath);
    const w = wanted(a);
    const m = this.#byBucket.get(bucket) ?? new Map<string, Wanted>();
    this.#byBucket.set(bucket, m);
    if (w) m.set(a.AssociationId, w);
    else m.delete(a.AssociationId);
    return bucket;
  }

  /** Forgets the association; returns its bucket. */
  forget(a: DataRepositoryAssociation): string {
    const { bucket } = parseS3Path(a.DataRepositoryPath);
    this.#byBucket.get(bucket)?.delete(a.AssociationId);
    return bucket;
  }

  /** Writes the bucket's configurations to this emulator's queue (others' are kept). */
  async sync(bucket: string, signal: AbortSignal): Promise<void> {
    const targets = notificationTargets(this.#byBucket.get(bucket)?.values() ?? []);
    await this.#store.setNotifications(bucket, this.#queueArn, targets, signal);
  }
}
