// Listing the objects of one custom resource kind in a namespace by label, with a deadline and KubeError translation.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { type CustomResourceType, callOptions, DEFAULT_CALL_TIMEOUT_MS, translateKubeError } from './kube.ts';

/** Lists the objects of `type` in `namespace` (every namespace when it is "") matching `labelSelector` (all of them when it is empty). */
export function customResourceLister<T>(
  kc: KubeConfig,
  type: CustomResourceType,
  timeoutMs = DEFAULT_CALL_TIMEOUT_MS,
) {
  const api = kc.makeApiClient(CustomObjectsApi);
  return async (namespace: string, labelSelector: string, signal: AbortSignal): Promise<T[]> => {
    try {
      const selector = labelSelector ? { labelSelector } : {};
      const options = callOptions(signal, timeoutMs);
      const res = (
        namespace === ''
          ? await api.listClusterCustomObject({ ...type, ...selector }, options)
          : await api.listNamespacedCustomObject({ ...type, namespace, ...selector }, options)
      ) as { items?: T[] };
      return res.items ?? [];
    } catch (err) {
      throw translateKubeError(err, `list ${type.plural} in ${namespace || 'every namespace'}`, signal);
    }
  };
}
