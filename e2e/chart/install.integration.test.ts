import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { auditLogPath, type Cluster, startCluster } from '../harness/cluster.ts';
import { type ProcessRecord, pollUntil, spawnServer, stopServer } from '../harness/processes.ts';
import { toolPath } from '../harness/tools.ts';
import { failureReport } from './failure-report.ts';
import { CHART_DIR, type KubeObject, parseManifests, run } from './helm.ts';
import { type PersistentVolume, type Published, stageAndPublish } from './kubelet-calls.ts';
import { type LocalRelease, mountsUnder, processesUnder, startLocalRelease } from './local-release.ts';
import { localFirstPlacement } from './placement-scenario.ts';
import { auditCalls, callSummary, rbacFindings } from './rbac-audit.ts';
import { releasePlans } from './release-plans.ts';
import { growClaim, reconcileOtherKinds, snapshotAndRestore, type VolumeWorld } from './volume-scenarios.ts';

const NS = 'nacre-system';
// Small for this machine's disk: 8 GB of OSTs per node (sparse), 1 MiB per FSx GiB; 2400 GiB is
// two OSTs (one per 1200 GiB). The PERSISTENT class is on, deleting its volumes, for the snapshots.
const SET = ['--set', 'node.osts.size=8G', '--set', 'node.osts.count=2', '--set', 'controller.replicas=1'];
let values: string[];

let cluster: Cluster;
let clusterDir: string;
let dir: string;
/** A test failed: the logs (the release's in `dir`, the control plane's in `clusterDir`/logs) are kept. */
let failed = false;
let release: LocalRelease | undefined;
const published: Published[] = [];
let snapshotController: ProcessRecord | undefined;
const NACRE = join(import.meta.dirname, '..', '..', 'cmd', 'nacre.ts');

before(async () => {
  // The cluster's own dir (not under `dir`, whose processes must all be gone after uninstall): its
  // stop() keeps its logs/, removed with it below unless a test failed.
  clusterDir = await mkdtemp(join(tmpdir(), 'nacre-chart-cluster-'));
  cluster = await startCluster({ audit: true, dir: clusterDir });
  dir = await mkdtemp(join(tmpdir(), 'nacre-chart-'));
  // The snapshot CRDs and the snapshot controller are the cluster's, not the chart's (as on kind).
  const snapshotter = await toolPath('csi-snapshotter');
  const crdDir = join(dirname(snapshotter), 'crd');
  for (const f of await readdir(crdDir)) await kubectl(['apply', '-f', join(crdDir, f)]);
  const kinds = ['volumesnapshots', 'volumesnapshotcontents', 'volumesnapshotclasses'];
  await kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    ...kinds.map((k) => `crd/${k}.snapshot.storage.k8s.io`),
  ]);
  snapshotController = await spawnServer({
    name: 'snapshot-controller',
    command: await toolPath('snapshot-controller'),
    args: [`--kubeconfig=${cluster.kubeconfigPath}`, '--leader-election=false'],
    logFile: join(dir, 'snapshot-controller.log'),
    keep: false,
  });
  const chartValues = parse(await readFile(join(CHART_DIR, 'values.yaml'), 'utf8')) as {
    storageClasses: { name: string; enabled: boolean; reclaimPolicy: string }[];
  };
  for (const sc of chartValues.storageClasses)
    if (sc.name === 'nacre-persistent') Object.assign(sc, { enabled: true, reclaimPolicy: 'Delete' });
  await writeFile(join(dir, 'values.yaml'), stringify({ storageClasses: chartValues.storageClasses }));
  values = ['-f', join(dir, 'values.yaml'), ...SET];
});
after(async () => {
  for (const p of published) await p.release().catch(() => undefined);
  await release?.stop();
  if (snapshotController) await stopServer(snapshotController);
  await cluster?.stop();
  if (failed) {
    process.stderr.write(
      `install test failed: logs kept in ${join(dir, 'logs')} and ${join(clusterDir, 'logs')}\n`,
    );
    return;
  }
  await rm(dir, { recursive: true, force: true });
  await rm(clusterDir, { recursive: true, force: true });
});
// Read the cluster as the failing step left it, before the next test changes it.
afterEach(async (t) => {
  // The runtime's TestContext has `passed` (@types/node declares it only on SuiteContext).
  if ((t as { passed?: boolean }).passed !== false) return;
  if (failed) return t.diagnostic('an earlier test failed: its report is the one to read');
  failed = true;
  t.diagnostic(await failureReport(kubectl, [dir, join(dir, 'logs'), join(clusterDir, 'logs')]));
});

const kubectl = (args: string[], input?: string) =>
  run(cluster.tools.kubectl, ['--kubeconfig', cluster.kubeconfigPath, ...args], {
    ...(input !== undefined && { input }),
  });
const helm = (args: string[]) =>
  run(cluster.tools.helm, ['--kubeconfig', cluster.kubeconfigPath, ...args], { timeoutMs: 180_000 });

async function manifests(): Promise<KubeObject[]> {
  return parseManifests(await helm(['get', 'manifest', 'nacre', '-n', NS]));
}
const ref = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;
async function exists(o: KubeObject): Promise<boolean> {
  const ns = o.metadata.namespace ? ['-n', o.metadata.namespace] : [];
  const type = `${o.kind}.${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}`.replace(/\.$/, '');
  const out = await kubectl(['get', ...ns, type, o.metadata.name, '--ignore-not-found', '-o', 'name']);
  return out.trim() !== '';
}
async function secretData(name: string): Promise<Record<string, string>> {
  return JSON.parse(await kubectl(['-n', NS, 'get', 'secret', name, '-o', 'jsonpath={.data}'])) as Record<
    string,
    string
  >;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  assert.ok(await pollUntil(check, timeoutMs, { intervalMs: 500 }), `timed out waiting for ${what}`);
}

async function condition(kind: string, ns: string, name: string, type: string): Promise<string | undefined> {
  const out = await kubectl(['-n', ns, 'get', kind, name, '-o', 'json', '--ignore-not-found']);
  if (!out.trim()) return undefined;
  const obj = JSON.parse(out) as { status?: { conditions?: { type: string; status: string }[] } };
  return obj.status?.conditions?.find((c) => c.type === type)?.status;
}

test('helm install creates every object the chart renders; an upgrade keeps the generated keys', async () => {
  await helm(['install', 'nacre', CHART_DIR, '-n', NS, '--create-namespace', ...values]);
  const objects = await manifests();
  assert.ok(objects.length >= 25, `${objects.length} objects`);
  for (const o of objects) assert.ok(await exists(o), `${ref(o)} was created`);
  for (const crd of await readdir(join(CHART_DIR, 'crds')))
    assert.match(
      await kubectl([
        'get',
        'crd',
        crd.replace(/^fsx\.nacre\.dev_(\w+)\.yaml$/, '$1.fsx.nacre.dev'),
        '-o',
        'name',
      ]),
      /customresourcedefinition/,
    );

  const before = await secretData('nacre-fsx-credentials');
  const plane = await secretData('nacre-data-plane');
  assert.ok(Buffer.from(before['secretAccessKey'] ?? '', 'base64').length >= 40);
  await helm(['upgrade', 'nacre', CHART_DIR, '-n', NS, ...values, '--set', 'controller.workers=2']);
  assert.deepEqual(await secretData('nacre-fsx-credentials'), before, 'FSx keys survive an upgrade');
  assert.deepEqual(await secretData('nacre-data-plane'), plane, 'the data-plane key survives an upgrade');
});

test('on the local harness, the rendered pods make a FileSystem Ready, bind, grow, snapshot and restore PVCs, place stripes local-first, share a striped file between two nodes, and keep it through an upgrade and a rollback', async () => {
  const objects = await manifests();
  const plans = releasePlans(NS);
  release = await startLocalRelease({ cluster, namespace: NS, manifests: objects, dir, plans });

  // 1. A FileSystem becomes Ready through the controller (its own ServiceAccount's RBAC) and the emulator.
  await kubectl(['create', 'namespace', 'team']);
  await kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'fsx.nacre.dev/v1alpha1',
      kind: 'FileSystem',
      metadata: { name: 'scratch', namespace: 'team' },
      spec: { storageCapacity: 2400, lustreConfiguration: { deploymentType: 'SCRATCH_2' } },
    }),
  );
  await waitFor(
    'FileSystem team/scratch Ready',
    async () => (await condition('filesystem', 'team', 'scratch', 'Ready')) === 'True',
  );

  // 1b. The operator's other kinds, in a user's namespace: each is reconciled to a status (the
  //     emulator refuses them on a SCRATCH_2 file system without a repository: Synced False says
  //     why), then deleted, its finalizer released.
  await reconcileOtherKinds({ kubectl, namespace: 'team' }, 'scratch');

  // 2. Its OSTs are on both nodes' OSS (node-local storage), and every server reports it in /metrics.
  const scrape = async (key: string) => {
    const url = release?.metrics.get(key);
    assert.ok(url, `no metrics endpoint for ${key}`);
    return (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
  };
  for (const node of ['nacre-node-oss-a/oss', 'nacre-node-oss-b/oss'])
    assert.match(
      await scrape(node),
      /^nacre_ost_free_bytes\{ost="[^"]+-OST[0-9a-f]{4}"/m,
      `${node} serves an OST`,
    );
  assert.match(
    await scrape('nacre-mgs-0/api'),
    /nacre_fsx_server_requests_total\{[^}]*operation="CreateFileSystem"[^}]*outcome="ok"/,
  );
  assert.match(await scrape('nacre-mgs-0/mgs'), /nacre_rpc_calls_total\{[^}]*method="createFileSystem"/);
  assert.match(await scrape('nacre-mds-0/mds'), /nacre_rpc_connected_clients/);
  assert.match(
    await scrape('nacre-controller-0/nacre'),
    /nacre_fsx_api_calls_total\{[^}]*operation="CreateFileSystem"/,
  );

  // 3. A PVC of StorageClass nacre binds: external-provisioner → CSI CreateVolume → FileSystem → PV.
  await kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'shared', namespace: 'team' },
      spec: {
        accessModes: ['ReadWriteMany'],
        storageClassName: 'nacre',
        resources: { requests: { storage: '2400Gi' } },
      },
    }),
  );
  //    Two waits, each for what takes the time: the emulator's servers create the claim's file system
  //    (FileSystem <namespace>/pvc-<claim uid>, like scratch above), then the provisioner's next
  //    repeat of CreateVolume (at most 30 s apart: --retry-interval-max) returns it and the claim binds.
  const uid = (
    await kubectl(['-n', 'team', 'get', 'pvc', 'shared', '-o', 'jsonpath={.metadata.uid}'])
  ).trim();
  await waitFor(
    `FileSystem ${NS}/pvc-${uid} of PVC team/shared Ready`,
    async () => (await condition('filesystem', NS, `pvc-${uid}`, 'Ready')) === 'True',
  );
  await waitFor(
    'PVC team/shared Bound once its FileSystem is Ready',
    async () =>
      (await kubectl(['-n', 'team', 'get', 'pvc', 'shared', '-o', 'jsonpath={.status.phase}'])) === 'Bound',
    60_000,
  );

  // 4. The kubelet's calls stage and publish the volume on both nodes; a writer on node-a and a
  //    reader on node-b share a file striped over every OST, and each node reaches its own OSS over
  //    its unix socket.
  const pvName = (
    await kubectl(['-n', 'team', 'get', 'pvc', 'shared', '-o', 'jsonpath={.spec.volumeName}'])
  ).trim();
  const pv = JSON.parse(await kubectl(['get', 'pv', pvName, '-o', 'json'])) as PersistentVolume;
  const kubeletDir = (node: string) => join(dir, 'nodes', node, 'var', 'lib', 'kubelet');
  const endpoint = (node: string) => `unix://${kubeletDir(node)}/plugins/csi.nacre.dev/csi.sock`;
  const a = await stageAndPublish(endpoint('node-a'), kubeletDir('node-a'), pv, 'pod-writer');
  published.push(a);
  const b = await stageAndPublish(endpoint('node-b'), kubeletDir('node-b'), pv, 'pod-reader');
  published.push(b);
  await mkdir(join(a.targetPath, 'striped'));
  // lfs talks to the MDS itself: like every data-plane client it needs the install's key.
  const keyFile = join(dir, 'data-plane.key');
  await writeFile(keyFile, Buffer.from((await secretData('nacre-data-plane'))['key'] ?? '', 'base64'), {
    mode: 0o600,
  });
  await run(process.execPath, [
    NACRE,
    `--data-plane-key-file=${keyFile}`,
    'lfs',
    'setstripe',
    '-c',
    '-1',
    '-S',
    '1M',
    join(a.targetPath, 'striped'),
  ]);
  const data = randomBytes(8 * 1024 * 1024);
  await writeFile(join(a.targetPath, 'striped', 'f'), data);
  const read = await readFile(join(b.targetPath, 'striped', 'f'));
  assert.ok(read.equals(data), 'the reader on node-b sees the bytes the writer on node-a wrote');
  for (const node of ['nacre-node-oss-a/oss', 'nacre-node-oss-b/oss']) {
    const text = await scrape(node);
    assert.match(
      text,
      /^nacre_rpc_bytes_total\{[^}]*method="write"[^}]*direction="in"[^}]*\} [1-9]/m,
      `stripes on ${node}`,
    );
    assert.match(
      text,
      /^nacre_rpc_connected_clients\{[^}]*transport="unix"[^}]*\} [1-9]/m,
      `local client of ${node}`,
    );
  }
  for (const p of published.splice(0)) await p.release();

  // 4b. The release's resizer grows the claim; its snapshotter snapshots a PERSISTENT claim that
  //     is restored into a new one, read on the other node.
  const world: VolumeWorld = {
    kubectl,
    namespace: 'team',
    publish: (node, v, uid) => stageAndPublish(endpoint(node), kubeletDir(node), v, uid),
  };
  await growClaim(world, 'shared', '4800Gi');
  await snapshotAndRestore(world, 'nacre-persistent', 'nacre');

  // 4c. Local-first placement (the default): two OSS per node, a 4800 GiB claim has an OST on each.
  const osses = ['a', 'b'].flatMap((n) =>
    ['oss', 'oss-1'].map((c) => ({
      key: `nacre-node-oss-${n}/${c}`,
      node: `node-${n}`,
      scrape: () => scrape(`nacre-node-oss-${n}/${c}`),
    })),
  );
  const lfs = (args: string[]) =>
    run(process.execPath, [NACRE, `--data-plane-key-file=${keyFile}`, 'lfs', ...args]);
  await localFirstPlacement({ ...world, osses, lfs }, 'nacre', '4800Gi');

  // 5. An upgrade to the next chart version, and a rollback from it, keep every file system and
  //    its data: each time the pods start again from the release's manifests on the same disks.
  await run(cluster.tools.helm, ['package', CHART_DIR, '--version', '0.1.1', '-d', dir]);
  const history = JSON.parse(await helm(['history', 'nacre', '-n', NS, '-o', 'json'])) as {
    revision: number;
  }[];
  const lastOf010 = Math.max(...history.map((h) => h.revision));
  const changes: [string, string[]][] = [
    ['0.1.1', ['upgrade', 'nacre', join(dir, 'nacre-0.1.1.tgz'), '-n', NS, ...values]],
    ['0.1.0', ['rollback', 'nacre', String(lastOf010), '-n', NS]],
  ];
  for (const [version, command] of changes) {
    await release.stop();
    const pods = release.pods;
    release = undefined;
    await helm(command);
    const now = await manifests();
    assert.match(
      JSON.stringify(now),
      new RegExp(`"helm.sh/chart":"nacre-${version.replaceAll('.', '\\.')}"`),
    );
    release = await startLocalRelease({ cluster, namespace: NS, manifests: now, dir, plans, reuse: pods });
    await waitFor(
      `FileSystem team/scratch Ready on chart ${version}`,
      async () => (await condition('filesystem', 'team', 'scratch', 'Ready')) === 'True',
    );
    const again = await stageAndPublish(endpoint('node-b'), kubeletDir('node-b'), pv, `pod-on-${version}`);
    published.push(again);
    const kept = await readFile(join(again.targetPath, 'striped', 'f'));
    assert.ok(kept.equals(data), `the file written before reads back the same on chart ${version}`);
    for (const p of published.splice(0)) await p.release();
  }

  // 6. Deleting the claim and the FileSystem leaves no PV, no FileSystem and no OST behind.
  await kubectl(['-n', 'team', 'delete', 'pvc', 'shared', '--wait=false']);
  await kubectl(['-n', 'team', 'delete', 'filesystem', 'scratch', '--wait=false']);
  await waitFor(
    'every PV gone',
    async () => (await kubectl(['get', 'pv', '-o', 'name'])).trim() === '',
    180_000,
  );
  await waitFor(
    'every FileSystem gone',
    async () => (await kubectl(['get', 'filesystems', '-A', '-o', 'name'])).trim() === '',
    180_000,
  );
  for (const node of ['node-a', 'node-b']) {
    for (const ossDir of ['oss', 'oss-1'].map((d) => join(dir, 'nodes', node, 'var', 'lib', 'nacre', d)))
      await waitFor(
        `no OST left on ${node}`,
        async () => (await readdir(ossDir)).every((e) => !/-OST[0-9a-f]{4}$/.test(e)),
        60_000,
      );
  }
  await release.stop();
  release = undefined;
});

test("every kube call the release's components made was granted by the chart, and every rule of Nacre's own was used", async (t) => {
  const calls = await auditCalls(auditLogPath(cluster.dir));
  t.diagnostic(callSummary(calls, NS).join('\n'));
  const own = ['ClusterRole/nacre-controller', 'Role/nacre-controller'];
  // CreateVolume makes a DataRepositoryAssociation only for S3 parameters on PERSISTENT_2, which
  // this scenario has no S3 server for (e2e/csi/s3-volume.integration.test.ts runs that path).
  const notExercised = {
    'Role/nacre-controller: fsx.nacre.dev/datarepositoryassociations:create': 'S3-linked volumes',
  };
  assert.deepEqual(rbacFindings(calls, await manifests(), NS, own, notExercised), []);
});

test('helm uninstall removes every object the chart made', async () => {
  const objects = await manifests();
  await helm(['uninstall', 'nacre', '-n', NS, '--wait', '--timeout', '2m']);
  for (const o of objects) {
    await waitFor(`${ref(o)} deleted`, async () => !(await exists(o)), 60_000);
  }
  // Nothing of it is left on the "nodes" either: no mount, no process, no PV, no FileSystem or
  // Backup, no OST data.
  assert.deepEqual(await mountsUnder(dir), []);
  assert.deepEqual(await processesUnder(dir), []);
  assert.equal((await kubectl(['get', 'pv', '-o', 'name'])).trim(), '');
  assert.equal((await kubectl(['get', 'filesystems,backups', '-A', '-o', 'name'])).trim(), '');
  for (const node of ['node-a', 'node-b'])
    for (const ossDir of ['oss', 'oss-1'].map((d) => join(dir, 'nodes', node, 'var', 'lib', 'nacre', d)))
      assert.deepEqual(
        (await readdir(ossDir)).filter((e) => /-OST[0-9a-f]{4}$/.test(e)),
        [],
        `${node}'s OSTs`,
      );
  // The pods the workloads' controllers made (no kubelet here: they stay Pending) go with them.
  await waitFor(
    'no pod of the release left',
    async () =>
      (
        await kubectl(['-n', NS, 'get', 'pods', '-l', 'app.kubernetes.io/instance=nacre', '-o', 'name'])
      ).trim() === '',
    60_000,
  );
});
