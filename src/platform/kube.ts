// The Kubernetes edge: kubeconfig loading, per-call deadlines and signals, API errors translated once into KubeError, custom resource access.
import {
  type ConfigurationOptions,
  CustomObjectsApi,
  KubeConfig,
  type KubernetesListObject,
  Observable,
  PatchStrategy,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { pooledDispatcher } from './kube-dispatcher.ts';
import { isKubeError, translateKubeError } from './kube-errors.ts';
import { KubeInformer, type KubeObjectLike } from './kube-informer.ts';

export { isKubeError, KubeError, type KubeErrorCode, translateKubeError } from './kube-errors.ts';
export type { KubeObjectLike } from './kube-informer.ts';
export type { KubeConfig };

/** Request options that bind a call to `signal` and a deadline, and optionally set its Content-Type. */
export function callOptions(
  signal: AbortSignal,
  timeoutMs: number,
  contentType?: string,
): ConfigurationOptions {
  const bound = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
  return {
    middleware: [
      {
        pre: (ctx: RequestContext) => {
          ctx.setSignal(bound);
          if (contentType) ctx.setHeaderParam('Content-Type', contentType);
          return new Observable(Promise.resolve(ctx));
        },
        post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** Loads a kubeconfig file, or the default (KUBECONFIG, ~/.kube/config, then in-cluster); its calls share one HTTP/1.1 pool. */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  pooledDispatcher(kc);
  return kc;
}

/** The namespaced objects of one custom resource kind. */
export interface CustomResourceType {
  group: string;
  version: string;
  plural: string;
}

export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

/**
 * Reads and writes objects of one custom resource kind. Every call takes an AbortSignal and has a
 * deadline; failures are KubeError. Status writes go to the status subresource.
 */
export class CustomResourceClient<T extends KubeObjectLike> {
  readonly #kc: KubeConfig;
  readonly #api: CustomObjectsApi;
  readonly #type: CustomResourceType;
  readonly #timeoutMs: number;

  constructor(kc: KubeConfig, type: CustomResourceType, timeoutMs = DEFAULT_CALL_TIMEOUT_MS) {
    this.#kc = kc;
    this.#api = kc.makeApiClient(CustomObjectsApi);
    this.#type = type;
    this.#timeoutMs = timeoutMs;
  }

  async #run<R>(
    what: string,
    signal: AbortSignal,
    call: (o: ConfigurationOptions) => Promise<R>,
    ct?: string,
  ) {
    try {
      return await call(callOptions(signal, this.#timeoutMs, ct));
    } catch (err) {
      throw translateKubeError(err, what, signal);
    }
  }

  #ref(namespace: string, name: string) {
    return { ...this.#type, namespace, name };
  }

  /** The object, or undefined when it does not exist. */
  async get(namespace: string, name: string, signal: AbortSignal): Promise<T | undefined> {
    try {
      return (await this.#run(`get ${this.#type.plural} ${namespace}/${name}`, signal, (o) =>
        this.#api.getNamespacedCustomObject(this.#ref(namespace, name), o),
      )) as T;
    } catch (err) {
      if (isKubeError(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  async create(obj: T, signal: AbortSignal): Promise<T> {
    const namespace = obj.metadata?.namespace ?? 'default';
    return (await this.#run(`create ${this.#type.plural} ${namespace}/${obj.metadata?.name}`, signal, (o) =>
      this.#api.createNamespacedCustomObject({ ...this.#type, namespace, body: obj }, o),
    )) as T;
  }

  /** Asks for deletion (finalizers may hold the object); not an error when it is already gone. */
  async delete(namespace: string, name: string, signal: AbortSignal): Promise<void> {
    try {
      await this.#run(`delete ${this.#type.plural} ${namespace}/${name}`, signal, (o) =>
        this.#api.deleteNamespacedCustomObject(this.#ref(namespace, name), o),
      );
    } catch (err) {
      if (!isKubeError(err, 'NotFound')) throw err;
    }
  }

  /** A JSON merge patch of the object (spec, metadata). */
  async mergePatch(namespace: string, name: string, patch: object, signal: AbortSignal): Promise<T> {
    return (await this.#run(
      `patch ${this.#type.plural} ${namespace}/${name}`,
      signal,
      (o) => this.#api.patchNamespacedCustomObject({ ...this.#ref(namespace, name), body: patch }, o),
      PatchStrategy.MergePatch,
    )) as T;
  }

  /**
   * Replaces metadata.finalizers, only if the object is still at the resourceVersion `obj` was read
   * at (Conflict otherwise). Returns the updated object.
   */
  async setFinalizers(obj: T, finalizers: string[], signal: AbortSignal): Promise<T> {
    const { namespace = 'default', name = '', resourceVersion } = obj.metadata ?? {};
    return this.mergePatch(namespace, name, { metadata: { resourceVersion, finalizers } }, signal);
  }

  /** A JSON merge patch of the status subresource (null removes a field). */
  async patchStatus(namespace: string, name: string, status: object, signal: AbortSignal): Promise<T> {
    return (await this.#run(
      `patch ${this.#type.plural}/status ${namespace}/${name}`,
      signal,
      (o) =>
        this.#api.patchNamespacedCustomObjectStatus({ ...this.#ref(namespace, name), body: { status } }, o),
      PatchStrategy.MergePatch,
    )) as T;
  }

  /** A cache of the kind's objects (in `namespace`, or all namespaces), kept current by list and watch. */
  informer(namespace?: string): KubeInformer<T> {
    const { group, version, plural } = this.#type;
    const path = namespace
      ? `/apis/${group}/${version}/namespaces/${namespace}/${plural}`
      : `/apis/${group}/${version}/${plural}`;
    const list = () => {
      const o = callOptions(AbortSignal.timeout(this.#timeoutMs), this.#timeoutMs);
      return namespace
        ? this.#api.listNamespacedCustomObject({ group, version, plural, namespace }, o)
        : this.#api.listClusterCustomObject({ group, version, plural }, o);
    };
    return new KubeInformer<T>(this.#kc, path, list as () => Promise<KubernetesListObject<T>>, plural);
  }
}
