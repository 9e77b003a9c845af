// One kind's control loop: informer events feed a rate-limited work queue, workers run the reconciler, errors back off.
import { NacreError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { ControllerMetrics } from './metrics.ts';
import { ExponentialBackoff, type RateLimiter, WorkQueue } from './work-queue.ts';

/** What a reconcile asks for: nothing (wait for the next change), or another look after a delay. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface ObjectKey {
  namespace: string;
  name: string;
}

/**
 * Brings one object's world in line with its spec. Level-based: it reads the current state itself
 * and never trusts the event that woke it. Throwing means "retry with backoff"; a failure that
 * must not be retried is reported in the object's status and returns normally.
 */
export type Reconciler = (key: ObjectKey, signal: AbortSignal) => Promise<ReconcileResult>;

/** The slice of an informer the loop needs (KubeInformer, or a fake in tests). */
export interface EventSource<T> {
  on(event: 'add' | 'update' | 'delete', handler: (obj: T) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  list(): readonly T[];
}

export interface ReconcileLoopOptions<T extends { metadata?: { name?: string; namespace?: string } }> {
  kind: string;
  source: EventSource<T>;
  reconcile: Reconciler;
  workers: number;
  log: Logger;
  metrics?: ControllerMetrics;
  limiter?: RateLimiter;
  /** Every object is reconciled again this often, changed or not (drift in the backend). */
  resyncMs?: number;
}

function keyOf(obj: { metadata?: { name?: string; namespace?: string } }): string {
  return `${obj.metadata?.namespace ?? 'default'}/${obj.metadata?.name ?? ''}`;
}

/** What, in an object, calls for a reconcile when it changes: the spec's generation, deletion, finalizers. */
function signature(obj: { metadata?: object }): string {
  const m = (obj.metadata ?? {}) as {
    generation?: number;
    deletionTimestamp?: unknown;
    finalizers?: string[];
  };
  return JSON.stringify([m.generation, m.deletionTimestamp, m.finalizers]);
}

function parseKey(key: string): ObjectKey {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'Unknown';
}

export class ReconcileLoop<T extends { metadata?: { name?: string; namespace?: string } }> {
  readonly queue: WorkQueue;
  readonly #opts: ReconcileLoopOptions<T>;
  #workers: Promise<void>[] = [];
  #resync: NodeJS.Timeout | undefined;
  #stop = new AbortController();
  readonly #seen = new Map<string, string>();

  constructor(opts: ReconcileLoopOptions<T>) {
    this.#opts = opts;
    const depth = opts.metrics?.queueDepth.labels({ kind: opts.kind });
    this.queue = new WorkQueue({
      limiter: opts.limiter ?? new ExponentialBackoff(),
      ...(depth ? { onDepth: (d: number) => depth.set(d) } : {}),
    });
    const enqueue = (obj: T) => {
      const key = keyOf(obj);
      this.#seen.set(key, signature(obj));
      this.queue.add(key);
    };
    opts.source.on('add', enqueue);
    // Status-only updates are the controller's own writes: they do not change what to do.
    opts.source.on('update', (obj) => {
      if (this.#seen.get(keyOf(obj)) !== signature(obj)) enqueue(obj);
    });
    opts.source.on('delete', (obj) => {
      this.#seen.delete(keyOf(obj));
      this.queue.add(keyOf(obj));
    });
  }

  /** Starts the informer and the workers; resolves once the informer has listed every object. */
  async start(): Promise<void> {
    await this.#opts.source.start();
    for (let i = 0; i < this.#opts.workers; i++) this.#workers.push(this.#work());
    if (this.#opts.resyncMs) {
      this.#resync = setInterval(() => {
        for (const obj of this.#opts.source.list()) this.queue.add(keyOf(obj));
      }, this.#opts.resyncMs);
    }
  }

  /** Stops taking work, aborts reconciles in flight and waits for the workers to finish. */
  async stop(reason: unknown = new NacreError('Stopping', 'controller stopping')): Promise<void> {
    clearInterval(this.#resync);
    this.queue.shutDown();
    this.#stop.abort(reason);
    await this.#opts.source.stop();
    await Promise.all(this.#workers);
  }

  async #work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.#process(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  async #process(key: string): Promise<void> {
    const { kind, metrics, log } = this.#opts;
    const signal = this.#stop.signal;
    const timer = metrics?.reconcileSeconds.startTimer({ kind });
    try {
      const result = await this.#opts.reconcile(parseKey(key), signal);
      this.queue.forget(key);
      if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      metrics?.reconciles.inc({ kind, result: result.requeueAfterMs !== undefined ? 'requeue' : 'success' });
    } catch (err) {
      if (signal.aborted) return;
      const code = errorCode(err);
      const delay = this.queue.addRateLimited(key);
      metrics?.reconciles.inc({ kind, result: 'error' });
      metrics?.reconcileErrors.inc({ kind, code });
      metrics?.queueRetries.inc({ kind });
      log.warn('reconcile failed; retrying', {
        key,
        code,
        error: err instanceof Error ? err.message : String(err),
        retryInMs: delay,
      });
    } finally {
      timer?.();
    }
  }
}
