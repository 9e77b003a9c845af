// Proves the harness's kubelet nodes are real: pods from a locally built image on two nodes, exec, emptyDir, pod-to-pod and Service traffic, cluster DNS, and `down` leaves nothing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { waitFor } from '../../src/lib/wait-for.ts';
import { BUSYBOX_IMAGE, kubectl, leftovers, type NodeCluster, startNodeCluster } from './nodes.ts';

let nc: NodeCluster;
const k = (args: string[]) => nc && kubectl(nc.cluster, args, AbortSignal.timeout(90_000));

function podManifest(name: string, node: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': node },
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'shell',
          image: BUSYBOX_IMAGE,
          imagePullPolicy: 'Never',
          // Answers one line on TCP 8080 forever, so the other node's pod can reach it.
          command: ['sh', '-c', 'while true; do echo "hello from $(hostname)" | nc -l -p 8080; done'],
          volumeMounts: [{ name: 'scratch', mountPath: '/data' }],
        },
      ],
      volumes: [{ name: 'scratch', emptyDir: {} }],
    },
  });
}

async function apply(manifest: string): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  const file = `${nc.nodes.dir}/manifest-${Date.now()}.json`;
  await writeFile(file, manifest);
  await k(['apply', '-f', file]);
}

before(
  async () => {
    nc = await startNodeCluster({ count: 2, signal: AbortSignal.timeout(40 * 60_000) });
  },
  { timeout: 45 * 60_000 },
);

after(async () => {
  await nc?.stop();
});

test('two nodes register and report Ready with their InternalIP on the bridge', async () => {
  const out = await k([
    'get',
    'nodes',
    '-o',
    'jsonpath={range .items[*]}{.metadata.name} {.status.addresses[?(@.type=="InternalIP")].address}{"\\n"}{end}',
  ]);
  const lines = out.trim().split('\n').sort();
  assert.deepEqual(lines, nc.nodes.nodes.map((n) => `${n.name} ${n.addressing.ip}`).sort());
});

test('a pod runs on each node from the imported image: exec, emptyDir, and pod-to-pod across nodes', {
  timeout: 300_000,
}, async () => {
  const [a, b] = nc.nodes.nodes;
  assert.ok(a && b);
  await apply(podManifest('shell-a', a.name));
  await apply(podManifest('shell-b', b.name));
  for (const pod of ['shell-a', 'shell-b']) {
    await waitFor(
      `${pod} Running`,
      async () => (await k(['get', 'pod', pod, '-o', 'jsonpath={.status.phase}'])) === 'Running',
      { timeoutMs: 180_000, intervalMs: 500 },
    );
  }
  const where = async (pod: string) =>
    (await k(['get', 'pod', pod, '-o', 'jsonpath={.spec.nodeName} {.status.podIP}'])).split(' ');
  const [nodeA, ipA] = await where('shell-a');
  const [nodeB, ipB] = await where('shell-b');
  assert.equal(nodeA, a.name);
  assert.equal(nodeB, b.name);
  assert.ok(
    ipA?.startsWith(a.addressing.podCidr.replace(/0\/24$/, '')),
    `pod IP ${ipA} in ${a.addressing.podCidr}`,
  );
  assert.ok(
    ipB?.startsWith(b.addressing.podCidr.replace(/0\/24$/, '')),
    `pod IP ${ipB} in ${b.addressing.podCidr}`,
  );

  const written = await k(['exec', 'shell-a', '--', 'sh', '-c', 'echo kept > /data/file && cat /data/file']);
  assert.equal(written.trim(), 'kept');
  // The emptyDir is a directory of the node's kubelet: a second exec sees the same file.
  assert.equal((await k(['exec', 'shell-a', '--', 'cat', '/data/file'])).trim(), 'kept');
  assert.match(await k(['exec', 'shell-b', '--', 'ls', '/data']), /^$/);
  // Where the e2e suite looks for pod volumes: the node's own /var/lib/kubelet, not the host's.
  const uid = await k(['get', 'pod', 'shell-a', '-o', 'jsonpath={.metadata.uid}']);
  const onNode = `/var/lib/kubelet/pods/${uid}/volumes/kubernetes.io~empty-dir/scratch/file`;
  const read = execFileSync('nsenter', [`--mount=${a.mountNamespace}`, 'cat', onNode], { timeout: 10_000 });
  assert.equal(read.toString().trim(), 'kept');
  assert.ok(!existsSync(`/var/lib/kubelet/pods/${uid}`), "the host's /var/lib/kubelet stays empty");

  // shell-a (node 1) reaches shell-b (node 2) by pod IP.
  const reply = await waitFor(
    `shell-a to reach ${ipB}:8080`,
    async () => {
      const out = await k(['exec', 'shell-a', '--', 'sh', '-c', `nc -w 3 ${ipB} 8080 </dev/null`]).catch(
        () => '',
      );
      return out.includes('hello from shell-b') ? out : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
  assert.match(reply, /hello from shell-b/);

  // By Service name: the cluster DNS resolves it, kube-proxy on node 1 forwards its ClusterIP to node 2.
  await apply(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'shell-b', namespace: 'default' },
      spec: { selector: { app: 'shell-b' }, ports: [{ port: 80, targetPort: 8080 }] },
    }),
  );
  const viaService = await waitFor(
    'shell-a to reach Service shell-b by name',
    async () => {
      const out = await k(['exec', 'shell-a', '--', 'sh', '-c', 'nc -w 3 shell-b 80 </dev/null']).catch(
        () => '',
      );
      return out.includes('hello from shell-b') ? out : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  assert.match(viaService, /hello from shell-b/);
  // The API server through the kubernetes Service (what in-cluster clients use): plain HTTP to its
  // TLS port earns Go's "HTTP request to an HTTPS server" answer.
  const api = await k([
    'exec',
    'shell-a',
    '--',
    'sh',
    '-c',
    "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 kubernetes.default.svc.cluster.local 443",
  ]);
  assert.match(api, /HTTP request to an HTTPS server/);

  assert.match(await k(['logs', 'shell-a']), /^$/);
  await k(['delete', 'service', 'shell-b']);
  await k(['delete', 'pod', 'shell-a', 'shell-b', '--wait=true', '--timeout=120s']);
  assert.equal((await k(['get', 'pods', '-o', 'name'])).trim(), '');
});

test("a hostPID pod sees its node, not the machine: PID 1 is the node's init", {
  timeout: 300_000,
}, async () => {
  const [a] = nc.nodes.nodes;
  assert.ok(a);
  await apply(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'host-pid', namespace: 'default' },
      spec: {
        nodeSelector: { 'kubernetes.io/hostname': a.name },
        hostPID: true,
        terminationGracePeriodSeconds: 1,
        containers: [
          { name: 'shell', image: BUSYBOX_IMAGE, imagePullPolicy: 'Never', command: ['sleep', '3600'] },
        ],
      },
    }),
  );
  await waitFor(
    'host-pid Running',
    async () => (await k(['get', 'pod', 'host-pid', '-o', 'jsonpath={.status.phase}'])) === 'Running',
    { timeoutMs: 180_000, intervalMs: 500 },
  );
  const init = await k(['exec', 'host-pid', '--', 'sh', '-c', "tr '\\0' ' ' < /proc/1/cmdline"]);
  assert.match(init, /\/pause\b/);
  // The node's kubelet is in sight; the other node's is not.
  const kubelets = await k([
    'exec',
    'host-pid',
    '--',
    'sh',
    '-c',
    "cat /proc/[0-9]*/cmdline | tr '\\0' '\\n' | grep -c '^--node-ip=' || true",
  ]);
  assert.equal(kubelets.trim(), '1');
  await k(['delete', 'pod', 'host-pid', '--wait=true', '--timeout=120s']);
});

test('down leaves no process, mount, cgroup, namespace or link behind', { timeout: 120_000 }, async () => {
  const state = nc.nodes;
  await nc.stop();
  assert.deepEqual(await leftovers(state), []);
});
