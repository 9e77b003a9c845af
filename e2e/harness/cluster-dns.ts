// The kubelet nodes' cluster DNS: CoreDNS (built by build-tools.sh) as a real Deployment behind the kube-dns Service, serving cluster.local only.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '../../src/lib/wait-for.ts';
import type { ImageSpec } from './oci-image.ts';

export const COREDNS_IMAGE = 'nacre.local/coredns:1';

/** CoreDNS's static binary as /coredns. */
export async function corednsImage(binary: string): Promise<ImageSpec> {
  return {
    name: COREDNS_IMAGE,
    entries: [{ type: 'file', path: 'coredns', mode: 0o755, data: await readFile(binary) }],
    entrypoint: ['/coredns'],
  };
}

/** Nothing is forwarded: no name outside cluster.local resolves, and no query leaves the machine. */
const COREFILE = `.:53 {
    errors
    health :8080
    ready :8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
}
`;

function manifests(clusterIp: string): object {
  const ns = 'kube-system';
  const labels = { 'k8s-app': 'kube-dns' };
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'coredns', namespace: ns } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'system:coredns' },
        rules: [
          {
            apiGroups: [''],
            resources: ['endpoints', 'services', 'pods', 'namespaces'],
            verbs: ['list', 'watch'],
          },
          { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'system:coredns' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:coredns' },
        subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: ns }],
      },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'coredns', namespace: ns },
        data: { Corefile: COREFILE },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'coredns', namespace: ns, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: 'coredns',
              dnsPolicy: 'Default',
              containers: [
                {
                  name: 'coredns',
                  image: COREDNS_IMAGE,
                  imagePullPolicy: 'Never',
                  args: ['-conf', '/etc/coredns/Corefile'],
                  ports: [
                    { name: 'dns', containerPort: 53, protocol: 'UDP' },
                    { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                  ],
                  readinessProbe: { httpGet: { path: '/ready', port: 8181 }, periodSeconds: 2 },
                  livenessProbe: { httpGet: { path: '/health', port: 8080 }, periodSeconds: 10 },
                  volumeMounts: [{ name: 'config', mountPath: '/etc/coredns', readOnly: true }],
                },
              ],
              volumes: [{ name: 'config', configMap: { name: 'coredns' } }],
            },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'kube-dns', namespace: ns, labels },
        spec: {
          clusterIP: clusterIp,
          selector: labels,
          ports: [
            { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
            { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
          ],
        },
      },
    ],
  };
}

/**
 * Applies CoreDNS and the kube-dns Service at `clusterIp` with `kubectl`, and waits (up to
 * `timeoutMs`) for the Deployment to have a ready replica.
 */
export async function deployClusterDns(
  kubectl: (args: string[]) => Promise<string>,
  workDir: string,
  clusterIp: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const file = join(workDir, 'coredns.json');
  await writeFile(file, JSON.stringify(manifests(clusterIp)));
  await kubectl(['apply', '-f', file]);
  await waitFor(
    'the cluster DNS (kube-system/coredns) to be ready',
    async () =>
      (await kubectl([
        '-n',
        'kube-system',
        'get',
        'deployment',
        'coredns',
        '-o',
        'jsonpath={.status.readyReplicas}',
      ])) === '1',
    { timeoutMs, intervalMs: 500, ...(signal ? { signal } : {}) },
  );
}
