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
    ['node.oss.capacity=lots', /capacity/],
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
  ]);
  assert.equal(plugin.securityContext?.['privileged'], true);
  // FUSE keepers live in this pod by default: a rolling update would end the node's mounts.
  assert.deepEqual((ds['spec'] as { updateStrategy: unknown }).updateStrategy, { type: 'OnDelete' });
  const kubelet = plugin.volumeMounts?.find((m) => m.mountPath === '/var/lib/kubelet');
  assert.equal(kubelet?.mountPropagation, 'Bidirectional');
  assert.ok(plugin.volumeMounts?.some((m) => m.mountPath === '/dev/fuse'));
  const volumes = podSpec(ds).volumes ?? [];
  assert.equal(volumes.find((v) => v.name === 'dev-fuse')?.hostPath?.type, 'CharDevice');
  assert.ok(
    container(ds, 'node-driver-registrar').args?.includes(
      '--kubelet-registration-path=/var/lib/kubelet/plugins/csi.nacre.dev/csi.sock',
    ),
  );
  const oss = container(ds, 'oss');
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
  assert.equal(volumes.find((v) => v.name === 'oss-data')?.hostPath?.path, '/var/lib/nacre/oss');
  // The client in the plugin container reaches the OSS's unix socket through the shared volume.
  assert.ok(plugin.volumeMounts?.some((m) => m.name === 'oss-socket' && m.mountPath === '/run/nacre/oss'));
  // Topology dedicated: no OSS on the nodes, an OSS StatefulSet instead.
  const allDs = find(everything, 'DaemonSet', 'nacre-node');
  assert.equal(
    podSpec(allDs).containers.some((c) => c.name === 'oss'),
    false,
  );
  assert.equal((find(everything, 'StatefulSet', 'nacre-oss')['spec'] as { replicas: number }).replicas, 2);
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
