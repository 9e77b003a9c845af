import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { parse } from 'yaml';
import { toolPath } from '../harness/tools.ts';
import { container, find, type KubeObject, podSpec, renderChart } from './helm.ts';

const ROOT = join(import.meta.dirname, '..', '..');

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}

/** "group/resource:verb" for every combination a set of rules grants. */
function grants(rules: Rule[]): Set<string> {
  const out = new Set<string>();
  for (const r of rules)
    for (const g of r.apiGroups ?? [])
      for (const res of r.resources ?? []) for (const v of r.verbs ?? []) out.add(`${g}/${res}:${v}`);
  return out;
}

/** Kinds the platform layer calls, by the name client-node gives them: group, resource, scope. */
const KINDS: Record<string, { group: string; resource: string; install: boolean }> = {
  Event: { group: '', resource: 'events', install: false },
  Lease: { group: 'coordination.k8s.io', resource: 'leases', install: true },
  Secret: { group: '', resource: 'secrets', install: true },
  PersistentVolume: { group: '', resource: 'persistentvolumes', install: false },
  Node: { group: '', resource: 'nodes', install: false },
};
const VERBS: Record<string, string> = {
  create: 'create',
  read: 'get',
  get: 'get',
  replace: 'update',
  patch: 'patch',
  delete: 'delete',
  list: 'list',
};

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(ROOT, dir), { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
      out.push(await readFile(join(e.parentPath, e.name), 'utf8'));
  }
  return out;
}

/** The custom resources whose plural a set of sources names. */
async function pluralsNamedIn(dirs: string[]): Promise<string[]> {
  const users = (await Promise.all(dirs.map(sources))).flat().join('\n');
  const out: string[] = [];
  for (const f of await readdir(join(ROOT, 'crds'))) {
    const crd = parse(await readFile(join(ROOT, 'crds', f), 'utf8')) as {
      spec: { names: { plural: string } };
    };
    if (users.includes(`'${crd.spec.names.plural}'`)) out.push(crd.spec.names.plural);
  }
  return out;
}

/**
 * What Nacre's own code asks of the API server: every client-node API call in src/platform (the
 * only kube edge), the ListWatch informers (list, watch), the custom resources named in the
 * controller and the CSI driver. Split into cluster-wide grants and grants in the install's
 * namespace: the Lease and the emulator Secret live there, and the CSI controller creates and
 * deletes its volumes' FileSystems and its snapshots' Backups there (its --pod-namespace), so the
 * creates and deletes of the kinds src/csi names go there. (The install test checks the same rules
 * against every call the running components made, from the API server's audit log.)
 */
async function codeNeeds(): Promise<{ cluster: Set<string>; install: Set<string> }> {
  const platform = (await sources('src/platform')).join('\n');
  const plurals = await pluralsNamedIn(['src/controller', 'src/csi', 'cmd']);
  const csiPlurals = await pluralsNamedIn(['src/csi']);
  assert.ok(plurals.includes('filesystems'), 'the controller names the filesystems resource');
  assert.deepEqual(
    csiPlurals.sort(),
    ['backups', 'datarepositoryassociations', 'filesystems'],
    'the CSI controller works with these kinds',
  );
  const cluster = new Set<string>();
  const install = new Set<string>();
  const calls = platform.matchAll(
    /\bapi\.(create|read|get|replace|patch|delete|list)(Namespaced|Cluster)?([A-Z]\w*?)(Status)?\(/g,
  );
  for (const [, verb, , kind, status] of calls) {
    const v = VERBS[verb!]!;
    if (kind === 'CustomObject') {
      const inInstall = v === 'create' || v === 'delete';
      for (const p of inInstall ? csiPlurals : plurals)
        (inInstall ? install : cluster).add(`fsx.nacre.dev/${p}${status ? '/status' : ''}:${v}`);
      continue;
    }
    const k = KINDS[kind!];
    assert.ok(
      k,
      `src/platform calls ${verb}…${kind}: add ${kind} to KINDS in this test and a rule to the chart`,
    );
    (k.install ? install : cluster).add(`${k.group}/${k.resource}${status ? '/status' : ''}:${v}`);
  }
  if (/new ListWatch</.test(platform))
    for (const p of plurals) for (const v of ['list', 'watch']) cluster.add(`fsx.nacre.dev/${p}:${v}`);
  return { cluster, install };
}

/** The CSI sidecars' needs, each from what that sidecar does (they are not Nacre's code). */
const SIDECARS = new Set([
  // external-provisioner: PVs for claims, claims, classes, node topology, volumes from snapshots
  // (and their source-protection finalizer), events
  ...['get', 'list', 'watch', 'create', 'delete'].map((v) => `/persistentvolumes:${v}`),
  ...['get', 'list', 'watch', 'update'].map((v) => `/persistentvolumeclaims:${v}`),
  ...['get', 'list', 'watch'].map((v) => `storage.k8s.io/storageclasses:${v}`),
  ...['get', 'list', 'watch', 'update'].map((v) => `snapshot.storage.k8s.io/volumesnapshots:${v}`),
  ...['create', 'update', 'patch'].map((v) => `/events:${v}`),
  // external-resizer: PV size, claim status
  '/persistentvolumes:patch',
  '/persistentvolumeclaims/status:patch',
  // external-snapshotter sidecar: classes, contents and their status, its group-snapshot informer
  ...['get', 'list', 'watch'].map((v) => `snapshot.storage.k8s.io/volumesnapshotclasses:${v}`),
  ...['get', 'list', 'watch', 'update', 'patch'].map(
    (v) => `snapshot.storage.k8s.io/volumesnapshotcontents:${v}`,
  ),
  ...['update', 'patch'].map((v) => `snapshot.storage.k8s.io/volumesnapshotcontents/status:${v}`),
  ...['list', 'watch'].map((v) => `groupsnapshot.storage.k8s.io/volumegroupsnapshotcontents:${v}`),
]);
/** external-provisioner with the Topology feature (csiDriver.topology): the nodes' topology too. */
const TOPOLOGY = ['get', 'list', 'watch'].flatMap((v) => [`storage.k8s.io/csinodes:${v}`, `/nodes:${v}`]);
const SIDECAR_LEASES = new Set(['get', 'create', 'update'].map((v) => `coordination.k8s.io/leases:${v}`));

let objects: KubeObject[];
let aws: KubeObject[];
let topology: KubeObject[];

before(async () => {
  const helm = await toolPath('helm');
  objects = await renderChart(helm);
  aws = await renderChart(helm, { valuesFiles: [join(ROOT, 'charts/nacre/ci/aws-values.yaml')] });
  topology = await renderChart(helm, { set: ['csiDriver.topology=true'] });
});

const rules = (objs: KubeObject[], kind: string, name: string) =>
  (find(objs, kind, name)['rules'] ?? []) as Rule[];

test("the controller's rules are exactly what Nacre's kube calls need, cluster-wide and in its namespace", async () => {
  const need = await codeNeeds();
  assert.deepEqual(
    [...grants(rules(objects, 'ClusterRole', 'nacre-controller'))].sort(),
    [...need.cluster].sort(),
  );
  assert.deepEqual([...grants(rules(objects, 'Role', 'nacre-controller'))].sort(), [...need.install].sort());
  // The one Secret it reads is the one the controller is told to read, by name.
  const secretRule = rules(objects, 'Role', 'nacre-controller').find((r) => r.resources?.includes('secrets'));
  const arg = container(find(objects, 'Deployment', 'nacre-controller'), 'nacre').args?.find((a) =>
    a.startsWith('--emulator-secret='),
  );
  assert.deepEqual(secretRule?.resourceNames, [arg?.split('=')[1]]);
  assert.ok(find(objects, 'Secret', 'nacre-fsx-credentials'));
});

test('with backend aws the controller reads no Secret and carries the IRSA annotation', async () => {
  const role = rules(aws, 'Role', 'nacre-controller');
  assert.equal(
    role.some((r) => r.resources?.includes('secrets')),
    false,
  );
  const sa = find(aws, 'ServiceAccount', 'nacre-controller');
  assert.equal(
    (sa.metadata as { annotations?: Record<string, string> }).annotations?.['eks.amazonaws.com/role-arn'],
    'arn:aws:iam::123456789012:role/nacre-controller',
  );
  assert.equal(aws.filter((o) => o.kind === 'StatefulSet').length, 0, 'no emulator with backend aws');
  const args = container(find(aws, 'Deployment', 'nacre-controller'), 'nacre').args ?? [];
  assert.ok(
    args.includes('--default-backend=aws') && args.includes('--aws-region=eu-west-1'),
    args.join(' '),
  );
  assert.equal(
    args.some((a) => a.startsWith('--emulator')),
    false,
  );
});

test("the sidecars' rules are what external-provisioner, -resizer and -snapshotter do, nothing more", () => {
  assert.deepEqual(
    [...grants(rules(objects, 'ClusterRole', 'nacre-csi-sidecars'))].sort(),
    [...SIDECARS].sort(),
  );
  assert.deepEqual(
    [...grants(rules(objects, 'Role', 'nacre-csi-sidecars'))].sort(),
    [...SIDECAR_LEASES].sort(),
  );
  assert.deepEqual(
    [...grants(rules(topology, 'ClusterRole', 'nacre-csi-sidecars'))].sort(),
    [...SIDECARS, ...TOPOLOGY].sort(),
    'with csiDriver.topology the provisioner reads nodes and CSINodes',
  );
});

test('the node plugin and the emulator servers get no API access at all', () => {
  const bindings = objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding');
  const subjects = bindings.flatMap((b) => (b['subjects'] as { name: string }[]).map((s) => s.name));
  assert.deepEqual([...new Set(subjects)], ['nacre-controller']);
  for (const [kind, name, sa] of [
    ['DaemonSet', 'nacre-node', 'nacre-node'],
    ['DaemonSet', 'nacre-node-oss', 'nacre-node'],
    ['DaemonSet', 'nacre-mounter', 'nacre-node'],
    ['StatefulSet', 'nacre-mgs', 'nacre-emulator'],
    ['StatefulSet', 'nacre-mds', 'nacre-emulator'],
  ] as const) {
    const spec = podSpec(find(objects, kind, name));
    assert.equal(spec.serviceAccountName, sa);
    const account = find(objects, 'ServiceAccount', sa);
    assert.equal(
      spec.automountServiceAccountToken ?? account['automountServiceAccountToken'],
      false,
      `${name} mounts no token`,
    );
  }
});
