import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FsxError } from '../fsx/backend.ts';
import { logger } from '../lib/log.ts';
import { waitFor } from '../lib/wait-for.ts';
import { createMetrics } from './metrics.ts';
import { type EventSource, type ObjectKey, ReconcileLoop } from './reconcile-loop.ts';
import { ExponentialBackoff } from './work-queue.ts';

interface Obj {
  metadata: { name: string; namespace: string; generation?: number };
  status?: { lifecycle: string };
}

/** An in-memory event source: `emit` plays the informer. */
class FakeSource implements EventSource<Obj> {
  readonly objects: Obj[] = [];
  readonly #handlers: { event: string; handler: (o: Obj) => void }[] = [];
  on(event: string, handler: (o: Obj) => void): void {
    this.#handlers.push({ event, handler });
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  list(): readonly Obj[] {
    return this.objects;
  }
  emit(o: Obj, event = 'add'): void {
    for (const h of this.#handlers) if (h.event === event) h.handler(o);
  }
}

const obj = (name: string): Obj => ({ metadata: { name, namespace: 'ns' } });

const until = (what: string, cond: () => boolean, timeoutMs = 5_000) =>
  waitFor(what, cond, { timeoutMs, intervalMs: 1 });

test('throttling backs off with growing delays until the backend answers, then the key is forgotten', async () => {
  const source = new FakeSource();
  const limiter = new ExponentialBackoff(5, 1_000);
  const when = limiter.when.bind(limiter);
  const delays: number[] = [];
  limiter.when = (k) => {
    const d = when(k);
    delays.push(d);
    return d;
  };
  const calls: number[] = [];
  const metrics = createMetrics({ defaultMetrics: false });
  const loop = new ReconcileLoop({
    kind: 'FileSystem',
    source,
    workers: 2,
    log: logger('test'),
    limiter,
    metrics,
    reconcile: async () => {
      calls.push(performance.now());
      if (calls.length <= 3)
        throw new FsxError('Throttled', 'ThrottlingException', 'DescribeFileSystems', 'slow down');
      return {};
    },
  });
  await loop.start();
  source.emit(obj('a'));
  await until('four reconciles', () => calls.length === 4);
  assert.deepEqual(delays, [5, 10, 20]);
  for (let i = 1; i < calls.length; i++)
    assert.ok(calls[i]! - calls[i - 1]! >= delays[i - 1]! - 2, `retry ${i} too early`);
  assert.equal(limiter.retries('ns/a'), 0, 'success forgets the failures');
  const text = await metrics.registry.metrics();
  assert.match(text, /nacre_controller_reconcile_errors_total\{kind="FileSystem",code="Throttled"\} 3/);
  assert.match(text, /nacre_controller_reconcile_total\{kind="FileSystem",result="success"\} 1/);
  await loop.stop();
});

test('requeueAfter brings a key back; one key is never reconciled by two workers at once', async () => {
  const source = new FakeSource();
  let running = 0;
  let overlap = false;
  const seen: ObjectKey[] = [];
  const loop = new ReconcileLoop({
    kind: 'FileSystem',
    source,
    workers: 4,
    log: logger('test'),
    reconcile: async (key) => {
      running++;
      if (running > 1) overlap = true;
      seen.push(key);
      await new Promise((r) => setTimeout(r, 2));
      running--;
      return seen.length < 3 ? { requeueAfterMs: 1 } : {};
    },
  });
  await loop.start();
  for (let i = 0; i < 5; i++) source.emit(obj('a'));
  await until('three reconciles', () => seen.length >= 3);
  assert.equal(overlap, false);
  assert.deepEqual(seen[0], { namespace: 'ns', name: 'a' });
  await loop.stop();
});

test('stop aborts a reconcile in flight and waits for it', async () => {
  const source = new FakeSource();
  let aborted = false;
  let entered = false;
  const loop = new ReconcileLoop({
    kind: 'FileSystem',
    source,
    workers: 1,
    log: logger('test'),
    reconcile: (_key, signal) =>
      new Promise((resolve) => {
        entered = true;
        signal.addEventListener('abort', () => {
          aborted = true;
          resolve({});
        });
      }),
  });
  await loop.start();
  source.emit(obj('a'));
  await until('the reconcile to start', () => entered);
  await loop.stop();
  assert.equal(aborted, true);
});

test('resync reconciles every known object again', async () => {
  const source = new FakeSource();
  source.objects.push(obj('a'), obj('b'));
  const seen = new Set<string>();
  const loop = new ReconcileLoop({
    kind: 'FileSystem',
    source,
    workers: 1,
    log: logger('test'),
    resyncMs: 5,
    reconcile: async (key) => {
      seen.add(key.name);
      return {};
    },
  });
  await loop.start();
  await until('both objects resynced', () => seen.size === 2);
  await loop.stop();
});

test('status-only updates do not wake the reconciler; a new generation does', async () => {
  const source = new FakeSource();
  const seen: number[] = [];
  const loop = new ReconcileLoop({
    kind: 'FileSystem',
    source,
    workers: 1,
    log: logger('test'),
    reconcile: async () => {
      seen.push(seen.length);
      return {};
    },
  });
  await loop.start();
  const o: Obj = { metadata: { name: 'a', namespace: 'ns', generation: 1 } };
  source.emit(o);
  await until('the first reconcile', () => seen.length === 1);
  source.emit({ ...o, status: { lifecycle: 'CREATING' } }, 'update');
  assert.equal(loop.queue.len(), 0, 'a status-only update is not queued');
  source.emit({ ...o, metadata: { ...o.metadata, generation: 2 } }, 'update');
  assert.equal(loop.queue.len(), 1, 'a new generation is queued');
  await until('the second reconcile', () => seen.length === 2);
  await loop.stop();
});
