// One HTTP/1.1 connection pool per kubeconfig identity for every Kubernetes call, watches included.
import type { AgentOptions } from 'node:https';
import type { Cluster, KubeConfig } from '@kubernetes/client-node';
import { Agent, type Dispatcher } from 'undici';

type MakeDispatcher = (cluster: Cluster | null, agentOptions: AgentOptions) => Dispatcher | undefined;

/**
 * client-node builds a new undici Agent for every request and never closes it (native memory per
 * aborted call grew ~150 KB), and undici 8 negotiates HTTP/2 with the API server: under load, an
 * HTTP/2 request aborted at its deadline was seen to leave Node's session copying output forever
 * on the main thread (a controller at 20 GB). So every call of `kc` goes through one Agent per TLS
 * identity, HTTP/1.1 only, as client-go's watches are; a new identity (rotated certificates)
 * replaces the pool, closing the old one once its requests end. Proxies keep client-node's own.
 */
export function pooledDispatcher(kc: KubeConfig): void {
  let pool: { key: string; agent: Agent } | undefined;
  // createDispatcher is private in client-node's types; the test in kube-dispatcher.test.ts fails if it stops being called.
  const target = kc as unknown as { createDispatcher: MakeDispatcher };
  const own = target.createDispatcher.bind(kc);
  target.createDispatcher = (cluster, agentOptions) => {
    const opts = kc.createDispatcherOptions(cluster, agentOptions);
    if (opts.type !== 'agent') return own(cluster, agentOptions);
    const key = JSON.stringify(opts.connect);
    if (pool?.key !== key) {
      void pool?.agent.close().catch(() => {});
      pool = {
        key,
        agent: new Agent({ connect: opts.connect as NonNullable<Agent.Options['connect']>, allowH2: false }),
      };
    }
    return pool.agent;
  };
}
