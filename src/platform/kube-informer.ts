// A list-and-watch cache of one kind of object on client-node's ListWatch, restarted with backoff when its watch fails.
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from '@kubernetes/client-node';
import { logger } from '../lib/log.ts';
import { translateKubeError } from './kube-errors.ts';

export type InformerEvent = 'add' | 'update' | 'delete';

const MIN_RESTART_MS = 500;
const MAX_RESTART_MS = 30_000;

/** The shape of any Kubernetes object, as loosely as the clients need it. */
export interface KubeObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

/**
 * Keeps a local copy of every object of a kind and calls handlers on each change. `start` resolves
 * after the first list; a failed list or watch is retried with backoff until `stop`.
 */
export class KubeInformer<T extends KubeObjectLike> {
  readonly #lw: ListWatch<KubernetesObject>;
  readonly #what: string;
  #stopped = true;
  #restartMs = MIN_RESTART_MS;
  #timer: NodeJS.Timeout | undefined;
  #log = logger('kube');

  constructor(kc: KubeConfig, path: string, list: () => Promise<KubernetesListObject<T>>, what: string) {
    this.#what = what;
    this.#lw = new ListWatch<KubernetesObject>(
      path,
      new Watch(kc),
      list as unknown as () => Promise<KubernetesListObject<KubernetesObject>>,
      false,
    );
    this.#lw.on('error', (err: unknown) => this.#onError(err));
    this.#lw.on('connect', () => {
      this.#restartMs = MIN_RESTART_MS;
    });
  }

  #onError(err: unknown): void {
    if (this.#stopped) return;
    const e = translateKubeError(err, `list/watch ${this.#what}`);
    const message = e instanceof Error ? e.message : String(e);
    this.#log.warn('list/watch failed; restarting', {
      kind: this.#what,
      error: message,
      inMs: this.#restartMs,
    });
    const delay = this.#restartMs;
    this.#restartMs = Math.min(this.#restartMs * 2, MAX_RESTART_MS);
    this.#timer = setTimeout(() => {
      if (!this.#stopped) this.#lw.start().catch((e: unknown) => this.#onError(e));
    }, delay);
  }

  /** Calls `handler` for each object added, changed or deleted (after its cache is updated). */
  on(event: InformerEvent, handler: (obj: T) => void): void {
    this.#lw.on(event, handler as unknown as (obj: KubernetesObject) => void);
  }

  /** Starts listing and watching; resolves once the first list is in the cache (or failed and will be retried). */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.#lw.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#lw.stop();
  }

  get(namespace: string, name: string): T | undefined {
    return this.#lw.get(name, namespace) as T | undefined;
  }

  list(): readonly T[] {
    return this.#lw.list() as unknown as readonly T[];
  }
}
