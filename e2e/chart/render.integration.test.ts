import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Cluster, startCluster } from '../harness/cluster.ts';
import { toolPath } from '../harness/tools.ts';
import {
  CHART_DIR,
  container,
  find,
  KUBE_VERSION,
  type KubeObject,
  podSpec,
  renderChart,
  run,
} from './helm.ts';

const ALL = join(CHART_DIR, 'ci', 'all-values.yaml');
const AWS = join(CHART_DIR, 'ci', 'aws-values.yaml');

let cluster: Cluster;

before(async () => {
  cluster = await startCluster();
});
after(async () => {
  await cluster?.stop();
});

const helm = () => cluster.tools.helm;
const kubectl = (args: string[], input?: string) =>
  run(cluster.tools.kubectl, ['--kubeconfig', cluster.kubeconfigPath, ...args], {
    ...(input !== undefined && { input }),
  });
const template = (extra: string[]) =>
  run(helm(), [
    'template',
    'nacre',
    CHART_DIR,
    '-n',
    'nacre-system',
    '--kube-version',
    KUBE_VERSION,
    ...extra,
  ]);

test('helm lint passes for the default, aws and everything-on values', async () => {
  for (const values of [[], ['--values', AWS], ['--values', ALL]]) {
    const out = await run(helm(), ['lint', CHART_DIR, '--strict', '--kube-version', KUBE_VERSION, ...values]);
    assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  }
});

test('the API server accepts every rendered object (dry-run=server) for the default, aws and everything-on values', async () => {
  await kubectl(['create', 'namespace', 'nacre-system']);
  // The chart's CRDs, and the snapshot CRDs the harness builds beside csi-snapshotter.
  await kubectl(['apply', '--server-side', '-f', join(CHART_DIR, 'crds')]);
  await kubectl(['apply', '--server-side', '-f', join(dirname(await toolPath('csi-snapshotter')), 'crd')]);
  const snapshots = ['--api-versions', 'snapshot.storage.k8s.io/v1/VolumeSnapshotClass'];
  for (const values of [[], ['--values', AWS], ['--values', ALL, ...snapshots]]) {
    const manifests = await template(values);
    const out = await kubectl(['apply', '--dry-run=server', '-f', '-'], manifests);
    assert.match(out, /deployment.apps\/nacre-controller created \(server dry run\)/);
    if (values.includes(ALL))
      assert.match(out, /volumesnapshotclass.snapshot.storage.k8s.io\/nacre created \(server dry run\)/);
    // No monitoring CRDs here: the ServiceMonitor is not rendered (its Services are).
    assert.doesNotMatch(out, /servicemonitor/i);
  }
  // The examples users copy are valid too.
  const examples = await kubectl(['apply', '--dry-run=server', '-f', join(CHART_DIR, 'examples')]);
  assert.match(examples, /filesystem.fsx.nacre.dev\/shared created \(server dry run\)/);
  assert.match(examples, /persistentvolume\/nacre-static created \(server dry run\)/);
});

test('values the schema refuses change nothing: helm names the bad value', async () => {
  for (const [set, want] of [
    ['backend=gcp', /backend/],
    ['emulator.topology=remote', /topology/],
    ['node.osts.size=lots', /size/],
    ['node.osts.count=0', /count/],
    ['emulator.placement=nearby', /placement/],
    ['controller.replicas=0', /replicas/],
    ['nodeSelecter.x=y', /nodeSelecter/],
  ] as const) {
    await assert.rejects(template(['--set', set]), want, set);
  }
});

let defaults: KubeObject[];
let everything: KubeObject[];
before(async () => {
  defaults = await renderChart(await toolPath('helm'));
  everything = await renderChart(await toolPath('helm'), {
    valuesFiles: [ALL],
    apiVersions: [
      'snapshot.storage.k8s.io/v1/VolumeSnapshotClass',
      'monitoring.coreos.com/v1/ServiceMonitor',
    ],
  });
});

test('the controller pod runs the operator and the CSI controller with the provisioner, resizer and snapshotter on one socket', () => {
  const d = find(defaults, 'Deployment', 'nacre-controller');
  const nacre = container(d, 'nacre');
  assert.deepEqual(nacre.args?.slice(2, 5), [
    '--data-plane-key-file=/etc/nacre/data-plane/key',
    'controller',
    '--csi-endpoint=unix:///csi/csi.sock',
  ]);
  assert.ok(nacre.args?.includes('--metrics-address=0.0.0.0:8080'));
  assert.ok(nacre.args?.includes('--emulator-endpoint=http://nacre-api.nacre-system.svc:9000'));
  for (const name of ['csi-provisioner', 'csi-resizer', 'csi-snapshotter']) {
    const c = container(d, name);
    assert.ok(c.args?.includes('--csi-address=/csi/csi.sock'), `${name} dials the driver's socket`);
    assert.ok(c.args?.includes('--leader-election'), `${name} elects a leader`);
    assert.deepEqual(c.volumeMounts, [{ name: 'socket-dir', mountPath: '/csi' }]);
  }
  assert.ok(container(d, 'csi-provisioner').args?.includes('--extra-create-metadata'));
  // Repeats of a CreateVolume/CreateSnapshot still in progress back off to 30 s at most, not 5 min.
  for (const name of ['csi-provisioner', 'csi-snapshotter'])
    assert.ok(container(d, name).args?.includes('--retry-interval-max=30s'), name);
  const all = find(everything, 'Deployment', 'nacre-controller');
  assert.ok(container(all, 'csi-provisioner').args?.includes('--feature-gates=Topology=true'));
  // Non-root, read-only root file system, no capabilities: the controller needs nothing of the host.
  assert.equal(podSpec(d).securityContext?.['runAsNonRoot'], true);
  for (const c of podSpec(d).containers)
    assert.equal(c.securityContext?.['readOnlyRootFilesystem'], true, c.name);
  assert.deepEqual(nacre.livenessProbe?.httpGet, { path: '/healthz', port: 'metrics' });
  assert.deepEqual(nacre.readinessProbe?.httpGet, { path: '/readyz', port: 'metrics' });
});

test('the node DaemonSet mounts with Bidirectional propagation into the kubelet dir and serves the node OSTs', () => {
  const ds = find(defaults, 'DaemonSet', 'nacre-node');
  const plugin = container(ds, 'nacre');
  assert.deepEqual(plugin.args?.slice(2), [
    '--data-plane-key-file=/etc/nacre/data-plane/key',
    'node',
    '--csi-endpoint=unix:///csi/csi.sock',
    '--node-id=$(NODE_NAME)',
    '--state-dir=/var/lib/nacre/node',
    '--kubelet-dir=/var/lib/kubelet',
    '--metrics-address=0.0.0.0:9809',
    '--host=$(NODE_NAME)',
    // The mounter DaemonSet starts and keeps the FUSE keepers.
    '--mount-holder=/var/lib/nacre/node/holder/holder.sock',
    // It registers itself with the kubelet: no node-driver-registrar image to pull.
    '--registration-dir=/registration',
    '--kubelet-registration-path=/var/lib/kubelet/plugins/csi.nacre.dev/csi.sock',
  ]);
  assert.ok(
    plugin.volumeMounts?.some((m) => m.name === 'registration-dir' && m.mountPath === '/registration'),
  );
  assert.ok(!podSpec(ds).containers.some((c) => c.name === 'node-driver-registrar'));
  assert.equal(plugin.securityContext?.['privileged'], true);
  // FUSE keepers live in the mounter's pod: replacing the plugin leaves the mounts alone.
  assert.deepEqual((ds['spec'] as { updateStrategy: unknown }).updateStrategy, {
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: 1 },
  });
  const mounter = find(defaults, 'DaemonSet', 'nacre-mounter');
  const holder = container(mounter, 'nacre');
  for (const a of [
    'mount-holder',
    '--socket=/var/lib/nacre/node/holder/holder.sock',
    '--state-dir=/var/lib/nacre/node',
    '--kubelet-dir=/var/lib/kubelet',
    '--host=$(NODE_NAME)',
  ])
    assert.ok(holder.args?.includes(a), `the mounter takes ${a}`);
  // Replacing the mounter's pod ends the node's mounts: only a deleted pod takes a new version.
  assert.deepEqual((mounter['spec'] as { updateStrategy: unknown }).updateStrategy, { type: 'OnDelete' });
  assert.equal(holder.securityContext?.['privileged'], true);
  assert.equal(holder.livenessProbe, undefined, 'no probe may restart it');
  assert.equal(
    holder.volumeMounts?.find((m) => m.mountPath === '/var/lib/kubelet')?.mountPropagation,
    'Bidirectional',
  );
  assert.equal(podSpec(mounter).automountServiceAccountToken, false);
  const shared = (v: { name: string; hostPath?: { path: string } }[] | undefined) =>
    v?.find((x) => x.name === 'oss-socket')?.hostPath?.path;
  assert.equal(shared(podSpec(mounter).volumes), '/var/lib/nacre/node/oss-sockets');
  const kubelet = plugin.volumeMounts?.find((m) => m.mountPath === '/var/lib/kubelet');
  assert.equal(kubelet?.mountPropagation, 'Bidirectional');
  // With the mounter the plugin mounts nothing through FUSE: neither /dev/fuse nor the OSS sockets.
  assert.ok(!plugin.volumeMounts?.some((m) => m.mountPath === '/dev/fuse' || m.name === 'oss-socket'));
  assert.ok(!podSpec(ds).volumes?.some((v) => v.name === 'dev-fuse' || v.name === 'oss-socket'));
  // sidecars.nodeDriverRegistrar.enabled: the sidecar registers the driver instead of the plugin.
  const withRegistrar = find(everything, 'DaemonSet', 'nacre-node');
  assert.ok(
    container(withRegistrar, 'node-driver-registrar').args?.includes(
      '--kubelet-registration-path=/var/lib/kubelet/plugins/csi.nacre.dev/csi.sock',
    ),
  );
  assert.ok(!container(withRegistrar, 'nacre').args?.some((a) => a.startsWith('--registration-dir')));
  // The node's OSSes run in pods of their own, so a node plugin restart leaves them serving.
  const nodeOss = find(defaults, 'DaemonSet', 'nacre-node-oss');
  assert.deepEqual((nodeOss['spec'] as { updateStrategy: unknown }).updateStrategy, { type: 'OnDelete' });
  assert.equal(podSpec(nodeOss).automountServiceAccountToken, false);
  const oss = container(nodeOss, 'oss');
  for (const a of [
    '--role=oss',
    '--mgs=nacre-mgs.nacre-system.svc:9400',
    '--host=$(NODE_NAME)',
    '--name=oss-$(NODE_NAME)',
    '--unix-socket=/run/nacre/oss/oss.sock',
    '--capacity=10G',
    '--data-plane-key-file=/etc/nacre/data-plane/key',
  ])
    assert.ok(oss.args?.includes(a), `node OSS takes ${a}`);
  assert.equal(
    podSpec(nodeOss).volumes?.find((v) => v.name === 'oss-data')?.hostPath?.path,
    '/var/lib/nacre/oss',
  );
  assert.equal(shared(podSpec(nodeOss).volumes), '/var/lib/nacre/node/oss-sockets');
  // Topology dedicated: no OSS on the nodes, an OSS StatefulSet instead.
  const allDs = find(everything, 'DaemonSet', 'nacre-node');
  assert.equal(
    podSpec(allDs).containers.some((c) => c.name === 'oss'),
    false,
  );
  assert.ok(!everything.some((o) => o.metadata.name === 'nacre-node-oss'));
  assert.equal((find(everything, 'StatefulSet', 'nacre-oss')['spec'] as { replicas: number }).replicas, 2);
});

test('the OSS pods reach the S3 endpoint themselves (they fetch restored files): no NetworkPolicy limits egress', () => {
  for (const objs of [defaults, everything]) {
    const policies = objs.filter((o) => o.kind === 'NetworkPolicy');
    assert.ok(
      policies.some((p) => /-oss$/.test(p.metadata.name)),
      'the OSS pods have a policy',
    );
    for (const p of policies) {
      const spec = p['spec'] as { policyTypes?: string[]; egress?: unknown };
      assert.deepEqual(spec.policyTypes, ['Ingress'], `${p.metadata.name} restricts ingress only`);
      assert.equal(spec.egress, undefined);
    }
  }
});

test('without the mounter the plugin runs the keepers: it gets /dev/fuse and the OSS sockets; its metrics port stays open', async () => {
  const own = await renderChart(await toolPath('helm'), { set: ['mounter.enabled=false'] });
  const ds = find(own, 'DaemonSet', 'nacre-node');
  const plugin = container(ds, 'nacre');
  assert.ok(plugin.volumeMounts?.some((m) => m.mountPath === '/dev/fuse'));
  assert.ok(plugin.volumeMounts?.some((m) => m.name === 'oss-socket' && m.mountPath === '/run/nacre/oss'));
  const volumes = podSpec(ds).volumes ?? [];
  assert.equal(volumes.find((v) => v.name === 'dev-fuse')?.hostPath?.type, 'CharDevice');
  assert.equal(
    volumes.find((v) => v.name === 'oss-socket')?.hostPath?.path,
    '/var/lib/nacre/node/oss-sockets',
  );
  for (const objs of [own, defaults]) {
    const policy = find(objs, 'NetworkPolicy', 'nacre-node')['spec'] as {
      podSelector: { matchLabels: Record<string, string> };
      ingress: { from?: unknown; ports: { port: number }[] }[];
    };
    assert.equal(policy.podSelector.matchLabels['app.kubernetes.io/component'], 'node');
    assert.deepEqual(
      policy.ingress,
      [{ ports: [{ protocol: 'TCP', port: 9809 }] }],
      'only metrics, from anywhere',
    );
  }
});

test('node.osts.count OSS containers per node, each on its own disk, ports and socket; the API places local-first by default', async () => {
  const two = await renderChart(await toolPath('helm'), {
    set: ['node.osts.count=2', 'emulator.placement=spread'],
  });
  const ds = find(two, 'DaemonSet', 'nacre-node-oss');
  const second = container(ds, 'oss-1');
  for (const a of [
    '--name=oss-$(NODE_NAME)-1',
    '--host=$(NODE_NAME)',
    '--listen=0.0.0.0:9403',
    '--unix-socket=/run/nacre/oss/oss-1.sock',
    '--metrics-address=0.0.0.0:8085',
  ])
    assert.ok(second.args?.includes(a), `the second OSS takes ${a}`);
  assert.deepEqual(
    second.volumeMounts?.map((m) => m.name),
    ['oss-data-1', 'oss-socket', 'data-plane-key'],
    'its own disk, the shared socket directory and the data-plane key',
  );
  const volumes = podSpec(ds).volumes ?? [];
  assert.equal(volumes.find((v) => v.name === 'oss-data-1')?.hostPath?.path, '/var/lib/nacre/oss-1');
  const policy = find(two, 'NetworkPolicy', 'nacre-node-oss')['spec'] as {
    ingress: { ports: { port: number }[] }[];
  };
  assert.deepEqual(
    policy.ingress[0]?.ports.map((p) => p.port),
    [9402, 9403],
  );
  const api = (objs: KubeObject[]) => container(find(objs, 'StatefulSet', 'nacre-mgs'), 'api').args ?? [];
  assert.ok(api(defaults).includes('--placement=local-first'));
  assert.ok(api(two).includes('--placement=spread'));
});

test('the emulator: API + MGS and MDS StatefulSets on PVCs, keys from the Secret, every server on /metrics', () => {
  const mgs = find(defaults, 'StatefulSet', 'nacre-mgs');
  const api = container(mgs, 'api');
  assert.ok(api.args?.includes('--mgs=127.0.0.1:9400'));
  assert.ok(api.args?.includes('--mount-host=nacre-mgs.nacre-system.svc:9400'));
  const keyRef = api.env?.find((e) => e.name === 'NACRE_FSX_ACCESS_KEY_ID')?.valueFrom?.secretKeyRef;
  assert.deepEqual(keyRef, { name: 'nacre-fsx-credentials', key: 'accessKeyId' });
  for (const [kind, name] of [
    ['StatefulSet', 'nacre-mgs'],
    ['StatefulSet', 'nacre-mds'],
    ['DaemonSet', 'nacre-node'],
    ['DaemonSet', 'nacre-node-oss'],
  ] as const) {
    const w = find(defaults, kind, name);
    for (const c of podSpec(w).containers.filter((x) => x.command?.[0] === 'nacre'))
      assert.ok(
        c.args?.some((a) => a.startsWith('--metrics-address=0.0.0.0:')),
        `${name}/${c.name} serves metrics`,
      );
  }
  const templates = (
    find(defaults, 'StatefulSet', 'nacre-mds')['spec'] as { volumeClaimTemplates: KubeObject[] }
  ).volumeClaimTemplates;
  assert.equal(templates[0]?.metadata.name, 'data');
  const np = find(defaults, 'NetworkPolicy', 'nacre-mds');
  assert.match(JSON.stringify(np['spec']), /"app.kubernetes.io\/name":"nacre"/);
});

test('StorageClasses for each mode, a VolumeSnapshotClass and ServiceMonitor only where their APIs exist', () => {
  const sc = (objs: KubeObject[]) =>
    objs.filter((o) => o.kind === 'StorageClass').map((o) => o.metadata.name);
  assert.deepEqual(sc(defaults), ['nacre', 'nacre-shared']);
  assert.deepEqual(sc(everything), ['nacre', 'nacre-shared', 'nacre-persistent']);
  assert.deepEqual(find(defaults, 'StorageClass', 'nacre-shared')['parameters'], {
    backend: 'emulated',
    fileSystemName: 'shared',
  });
  assert.equal(find(everything, 'VolumeSnapshotClass', 'nacre')['driver'], 'csi.nacre.dev');
  assert.ok(find(everything, 'ServiceMonitor', 'nacre'));
  assert.equal(defaults.filter((o) => o.kind === 'VolumeSnapshotClass').length, 0);
  const driver = find(defaults, 'CSIDriver', 'csi.nacre.dev')['spec'] as Record<string, unknown>;
  assert.deepEqual(driver, {
    attachRequired: false,
    podInfoOnMount: true,
    fsGroupPolicy: 'None',
    volumeLifecycleModes: ['Persistent'],
  });
  assert.ok(find(defaults, 'PodDisruptionBudget', 'nacre-controller'));
  const dashboard = find(defaults, 'ConfigMap', 'nacre-dashboard')['data'] as Record<string, string>;
  assert.match(dashboard['nacre.json'] ?? '', /nacre_ost_free_bytes/);
});
