// The operator against a real kube-apiserver and the emulator's real FSx API, MGS, MDS and OSS: the life of a FileSystem and its neighbours.
import assert from 'node:assert/strict';
import { after, before, type TestContext, test } from 'node:test';
import { CreateFileSystemCommand, DescribeBackupsCommand } from '@aws-sdk/client-fsx';
import { type FileSystem, type FileSystemStatus, GROUP, VERSION } from '../api/index.ts';
import { CustomResourceClient, loadKubeConfig } from '../platform/kube.ts';
import { getCondition } from './conditions.ts';
import { type ControllerOptions, type RunningController, startController } from './run-controller.ts';
import { startCutProxy } from './test-support/cut-proxy.ts';
import {
  eventually,
  type FsxEmulator,
  type OperatorEnv,
  startOperatorEnv,
} from './test-support/operator-env.ts';

let env: OperatorEnv;
let fsx: FsxEmulator;
let fileSystems: CustomResourceClient<FileSystem>;
/** The controller most tests share; it watches namespace "main" only. */
let main: RunningController;
const stopMain = new AbortController();

function options(namespace: string, extra: Partial<ControllerOptions> = {}): ControllerOptions {
  return {
    kubeconfig: env.cluster.kubeconfigPath,
    namespace,
    defaultBackend: 'emulated',
    emulator: {
      endpoint: fsx.endpoint,
      region: fsx.region,
      accessKeyId: fsx.accessKeyId,
      secretAccessKey: fsx.secretAccessKey,
    },
    metricsAddress: '127.0.0.1:0',
    leaderElection: false,
    pollIntervalMs: 250,
    slowPollMs: 2_000,
    workers: 2,
    signal: stopMain.signal,
    ...extra,
  };
}

/** A controller for one test, stopped when the test ends (or earlier with `stop`). */
async function controllerFor(t: TestContext, namespace: string, extra: Partial<ControllerOptions> = {}) {
  const ac = new AbortController();
  const c = await startController(
    options(namespace, { ...extra, signal: AbortSignal.any([ac.signal, stopMain.signal]) }),
  );
  const stop = async () => {
    ac.abort();
    await c.done;
  };
  t.after(stop);
  return { c, stop, abort: () => ac.abort() };
}

before(
  async () => {
    env = await startOperatorEnv();
    fsx = env.fsx!;
    fileSystems = new CustomResourceClient<FileSystem>(loadKubeConfig(env.cluster.kubeconfigPath), {
      group: GROUP,
      version: VERSION,
      plural: 'filesystems',
    });
    for (const ns of ['main', 'restart', 'ha']) await env.kubectl(['create', 'namespace', ns]);
    main = await startController(options('main', { resyncMs: 500 }));
  },
  { timeout: 45 * 60_000 },
);

after(async () => {
  stopMain.abort();
  await main?.done;
  await env?.stop();
});

async function apply(ns: string, kind: string, name: string, spec: string): Promise<void> {
  const r = await env.kubectl(
    ['apply', '-f', '-'],
    `apiVersion: ${GROUP}/${VERSION}\nkind: ${kind}\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n${spec}`,
  );
  assert.equal(r.code, 0, r.stderr);
}

const signal = () => AbortSignal.timeout(30_000);
const getFs = (ns: string, name: string) => fileSystems.get(ns, name, signal());

async function waitFor(
  ns: string,
  name: string,
  what: string,
  ok: (s: FileSystemStatus) => boolean,
  timeoutMs = 60_000,
) {
  return eventually(
    `${ns}/${name}: ${what}`,
    async () => {
      const s = (await getFs(ns, name))?.status;
      return s && ok(s) ? s : undefined;
    },
    timeoutMs,
  );
}

const ready = (s: FileSystemStatus) =>
  getCondition(s.conditions, 'Ready')?.status === 'True' && s.lifecycle === 'AVAILABLE';

async function metric(c: RunningController, line: RegExp): Promise<number> {
  const text = await (await fetch(`http://${c.metricsAddress}/metrics`)).text();
  const m = text.split('\n').find((l) => line.test(l));
  return m ? Number(m.split(' ').at(-1)) : 0;
}

const PERSISTENT =
  '  storageCapacity: 1200\n  lustreConfiguration:\n    deploymentType: PERSISTENT_2\n    perUnitStorageThroughput: 125\n';

async function fileSystemsTagged(uid: string) {
  return (await fsx.fileSystems()).filter((f) =>
    f.Tags?.some((t) => t.Key === 'nacre.dev/uid' && t.Value === uid),
  );
}

test('a FileSystem becomes Ready: lifecycle AVAILABLE, dnsName and mountName in status, events and metrics recorded', async () => {
  await apply(
    'main',
    'FileSystem',
    'fs1',
    '  storageCapacity: 1200\n  lustreConfiguration:\n    deploymentType: SCRATCH_2\n',
  );
  const s = await waitFor('main', 'fs1', 'Ready', ready);
  assert.match(s.fileSystemID ?? '', /^fs-[0-9a-f]{17}$/);
  assert.ok(s.dnsName, 'dnsName');
  assert.match(s.mountName ?? '', /^[a-z][a-z0-9]{7}$/);
  assert.equal(s.backend, 'emulated');
  assert.equal(getCondition(s.conditions, 'Synced')?.status, 'True');
  const obj = await getFs('main', 'fs1');
  assert.deepEqual(obj?.metadata.finalizers, ['fsx.nacre.dev/finalizer']);
  const inEmulator = await fileSystemsTagged(obj!.metadata.uid!);
  assert.deepEqual(
    inEmulator.map((f) => [f.FileSystemId, f.Lifecycle]),
    [[s.fileSystemID, 'AVAILABLE']],
  );

  const events = await env.kubectl([
    'get',
    'events',
    '-n',
    'main',
    '--field-selector',
    'involvedObject.name=fs1',
    '-o',
    'jsonpath={.items[*].reason}',
  ]);
  for (const reason of ['Created', 'Creating', 'Available'])
    assert.ok(events.stdout.split(' ').includes(reason), `${reason} in ${events.stdout}`);
  assert.equal(
    await metric(
      main,
      /^nacre_fsx_api_calls_total\{backend="emulated",operation="CreateFileSystem",outcome="Success"\}/,
    ),
    1,
  );
  assert.ok(
    (await metric(main, /^nacre_controller_reconcile_total\{kind="FileSystem",result="requeue"\}/)) >= 1,
  );
  assert.match(
    await metric(main, /^nacre_controller_workqueue_depth\{kind="FileSystem"\}/).then(String),
    /^\d+$/,
  );
  assert.equal((await fetch(`http://${main.metricsAddress}/healthz`)).status, 200);
  assert.equal((await fetch(`http://${main.metricsAddress}/readyz`)).status, 200);
});

test('growing storageCapacity goes UPDATING then AVAILABLE at the new capacity', async (t) => {
  await waitFor('main', 'fs1', 'Ready', ready);
  const lifecycles: string[] = [];
  const informer = fileSystems.informer('main');
  informer.on('update', (o) => {
    if (o.metadata.name === 'fs1' && o.status?.lifecycle && lifecycles.at(-1) !== o.status.lifecycle)
      lifecycles.push(o.status.lifecycle);
  });
  await informer.start();
  t.after(() => informer.stop());
  const r = await env.kubectl([
    'patch',
    'fsxfs',
    'fs1',
    '-n',
    'main',
    '--type',
    'merge',
    '-p',
    '{"spec":{"storageCapacity":2400}}',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const s = await waitFor(
    'main',
    'fs1',
    'grown and synced',
    (st) =>
      ready(st) &&
      st.storageCapacity === 2400 &&
      getCondition(st.conditions, 'Synced')?.status === 'True' &&
      st.observedGeneration === 2,
  );
  assert.deepEqual(
    lifecycles.slice(lifecycles.indexOf('UPDATING')),
    ['UPDATING', 'AVAILABLE'],
    `seen: ${lifecycles.join(' → ')}`,
  );
  const inEmulator = (await fsx.fileSystems()).find((f) => f.FileSystemId === s.fileSystemID);
  assert.equal(inEmulator?.StorageCapacity, 2400);
});

test('tags added to the spec are set on the file system', async () => {
  const s = await waitFor('main', 'fs1', 'Ready', ready);
  const r = await env.kubectl([
    'patch',
    'fsxfs',
    'fs1',
    '-n',
    'main',
    '--type',
    'merge',
    '-p',
    '{"spec":{"tags":[{"key":"team","value":"storage"}]}}',
  ]);
  assert.equal(r.code, 0, r.stderr);
  await eventually('the tag on the file system', async () => {
    const f = (await fsx.fileSystems()).find((x) => x.FileSystemId === s.fileSystemID);
    return f?.Tags?.some((t) => t.Key === 'team' && t.Value === 'storage') ? true : undefined;
  });
});

test('a spec the backend refuses is reported as InvalidRequest with its message, and retried only when the spec changes', async () => {
  await apply(
    'main',
    'FileSystem',
    'refused',
    '  storageCapacity: 3000\n  lustreConfiguration:\n    deploymentType: SCRATCH_2\n',
  );
  const s = await waitFor(
    'main',
    'refused',
    'Synced=False',
    (st) => getCondition(st.conditions, 'Synced')?.status === 'False',
  );
  const synced = getCondition(s.conditions, 'Synced')!;
  assert.equal(synced.reason, 'InvalidRequest');
  assert.match(synced.message, /StorageCapacity 3000/);
  assert.equal(getCondition(s.conditions, 'Ready')?.reason, 'InvalidRequest');
  const refusedCalls =
    /^nacre_fsx_api_calls_total\{backend="emulated",operation="CreateFileSystem",outcome="InvalidRequest"\}/;
  assert.equal(await metric(main, refusedCalls), 1);
  // The controller resyncs every 500 ms: let it reconcile the object several more times.
  const reconciles = /^nacre_controller_reconcile_total\{kind="FileSystem",result="success"\}/;
  const before = await metric(main, reconciles);
  await eventually('more reconciles', async () =>
    (await metric(main, reconciles)) >= before + 6 ? true : undefined,
  );
  assert.equal(await metric(main, refusedCalls), 1, 'the refused spec was sent again');
  const warnings = await env.kubectl([
    'get',
    'events',
    '-n',
    'main',
    '--field-selector',
    'involvedObject.name=refused,type=Warning',
    '-o',
    'jsonpath={.items[*].reason}',
  ]);
  assert.ok(warnings.stdout.includes('InvalidRequest'), warnings.stdout);

  const r = await env.kubectl([
    'patch',
    'fsxfs',
    'refused',
    '-n',
    'main',
    '--type',
    'merge',
    '-p',
    '{"spec":{"storageCapacity":4800}}',
  ]);
  assert.equal(r.code, 0, r.stderr);
  await waitFor(
    'main',
    'refused',
    'Ready after the fix',
    (st) => ready(st) && getCondition(st.conditions, 'Synced')?.status === 'True',
  );
});

test('deleting a FileSystem deletes its file system, then releases the object', async () => {
  await apply(
    'main',
    'FileSystem',
    'doomed',
    '  storageCapacity: 1200\n  lustreConfiguration:\n    deploymentType: SCRATCH_2\n',
  );
  const s = await waitFor('main', 'doomed', 'Ready', ready);
  assert.equal((await env.kubectl(['delete', 'fsxfs', 'doomed', '-n', 'main', '--wait=false'])).code, 0);
  await eventually('the object to go', async () => ((await getFs('main', 'doomed')) ? undefined : true));
  const left = (await fsx.fileSystems()).filter((f) => f.FileSystemId === s.fileSystemID);
  assert.deepEqual(left, [], 'the emulator still has the file system');
});

test('deletionPolicy Retain releases the object and leaves the file system', async () => {
  await apply(
    'main',
    'FileSystem',
    'kept',
    '  deletionPolicy: Retain\n  storageCapacity: 1200\n  lustreConfiguration:\n    deploymentType: SCRATCH_2\n',
  );
  const s = await waitFor('main', 'kept', 'Ready', ready);
  assert.equal((await env.kubectl(['delete', 'fsxfs', 'kept', '-n', 'main', '--wait=false'])).code, 0);
  await eventually('the object to go', async () => ((await getFs('main', 'kept')) ? undefined : true));
  const left = (await fsx.fileSystems()).find((f) => f.FileSystemId === s.fileSystemID);
  assert.equal(left?.Lifecycle, 'AVAILABLE');
});

test('an existing file system is adopted by fileSystemID and, by default, retained when the object goes', async () => {
  const created = await fsx.sdk.send(
    new CreateFileSystemCommand({
      FileSystemType: 'LUSTRE',
      StorageCapacity: 1200,
      SubnetIds: ['subnet-0123456789abcdef0'],
      LustreConfiguration: { DeploymentType: 'SCRATCH_2' },
    }),
  );
  const id = created.FileSystem!.FileSystemId!;
  await apply('main', 'FileSystem', 'adopted', `  fileSystemID: ${id}\n`);
  const s = await waitFor('main', 'adopted', 'Ready', ready);
  assert.equal(s.fileSystemID, id);
  assert.ok(s.mountName);
  const events = await env.kubectl([
    'get',
    'events',
    '-n',
    'main',
    '--field-selector',
    'involvedObject.name=adopted',
    '-o',
    'jsonpath={.items[*].reason}',
  ]);
  assert.ok(events.stdout.includes('Adopted'), events.stdout);
  assert.equal((await env.kubectl(['delete', 'fsxfs', 'adopted', '-n', 'main', '--wait=false'])).code, 0);
  await eventually('the object to go', async () => ((await getFs('main', 'adopted')) ? undefined : true));
  assert.equal((await fsx.fileSystems()).find((f) => f.FileSystemId === id)?.Lifecycle, 'AVAILABLE');
});

test('a Backup of a FileSystem becomes AVAILABLE, restores into a new FileSystem, and is deleted with its object', async () => {
  await apply('main', 'FileSystem', 'source', PERSISTENT);
  const src = await waitFor('main', 'source', 'Ready', ready);
  await apply('main', 'Backup', 'bk1', '  fileSystemRef:\n    name: source\n');
  const backupId = await eventually('bk1 AVAILABLE', async () => {
    const r = await env.kubectl([
      'get',
      'fsxbackup',
      'bk1',
      '-n',
      'main',
      '-o',
      'jsonpath={.status.lifecycle}|{.status.backupID}|{.status.fileSystemID}',
    ]);
    const [lifecycle, id, fsId] = r.stdout.split('|');
    if (lifecycle !== 'AVAILABLE') return undefined;
    assert.equal(fsId, src.fileSystemID);
    return id;
  });
  assert.match(backupId ?? '', /^backup-[0-9a-f]+$/);
  assert.equal(
    (await fsx.sdk.send(new DescribeBackupsCommand({ BackupIds: [backupId!] }))).Backups?.[0]?.Lifecycle,
    'AVAILABLE',
  );

  await apply('main', 'FileSystem', 'restored', `  backupID: ${backupId}\n`);
  const restored = await waitFor('main', 'restored', 'Ready', ready);
  assert.notEqual(restored.fileSystemID, src.fileSystemID);
  assert.equal(restored.deploymentType, 'PERSISTENT_2');

  assert.equal((await env.kubectl(['delete', 'fsxbackup', 'bk1', '-n', 'main', '--timeout=60s'])).code, 0);
  await assert.rejects(fsx.sdk.send(new DescribeBackupsCommand({ BackupIds: [backupId!] })), {
    name: 'BackupNotFound',
  });
});

test('associations and tasks the emulator does not offer yet report its UnsupportedOperation, and delete cleanly', async () => {
  await apply('main', 'FileSystem', 'linked', PERSISTENT);
  await apply(
    'main',
    'DataRepositoryAssociation',
    'dra1',
    '  fileSystemRef:\n    name: linked\n  fileSystemPath: /ns1\n  dataRepositoryPath: s3://bucket/prefix/\n',
  );
  const synced = await eventually('dra1 Synced=False', async () => {
    const r = await env.kubectl([
      'get',
      'fsxdra',
      'dra1',
      '-n',
      'main',
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Synced")].reason}|{.status.conditions[?(@.type=="Synced")].message}',
    ]);
    return r.stdout.startsWith('Unsupported|') ? r.stdout : undefined;
  });
  assert.match(synced, /CreateDataRepositoryAssociation: UnsupportedOperation: .*not yet supported/);
  assert.equal((await env.kubectl(['delete', 'fsxdra', 'dra1', '-n', 'main', '--timeout=30s'])).code, 0);
  await apply(
    'main',
    'DataRepositoryTask',
    'export1',
    '  fileSystemRef:\n    name: linked\n  type: EXPORT_TO_REPOSITORY\n  report:\n    enabled: false\n',
  );
  const task = await eventually('export1 Synced=False', async () => {
    const r = await env.kubectl([
      'get',
      'fsxtask',
      'export1',
      '-n',
      'main',
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Synced")].reason}|{.status.conditions[?(@.type=="Synced")].message}',
    ]);
    return r.stdout.startsWith('Unsupported|') ? r.stdout : undefined;
  });
  assert.match(task, /CreateDataRepositoryTask: UnsupportedOperation/);
  assert.equal((await env.kubectl(['delete', 'fsxtask', 'export1', '-n', 'main', '--timeout=30s'])).code, 0);
});

test('a controller stopped right after CreateFileSystem and restarted makes exactly one file system', async (t) => {
  let first: { abort: () => void } | undefined;
  const proxy = await startCutProxy(fsx.endpoint, 'CreateFileSystem', () => first?.abort());
  t.after(() => proxy.close());
  const a = await controllerFor(t, 'restart', {
    emulator: {
      endpoint: proxy.endpoint,
      region: fsx.region,
      accessKeyId: fsx.accessKeyId,
      secretAccessKey: fsx.secretAccessKey,
    },
  });
  first = a;
  await apply(
    'restart',
    'FileSystem',
    'once',
    '  storageCapacity: 1200\n  lustreConfiguration:\n    deploymentType: SCRATCH_2\n',
  );
  await proxy.cut;
  await a.stop();
  const uid = (await getFs('restart', 'once'))!.metadata.uid!;
  assert.equal(
    (await getFs('restart', 'once'))?.status?.fileSystemID,
    undefined,
    'the first controller recorded nothing',
  );
  assert.equal((await fileSystemsTagged(uid)).length, 1, 'the create reached the emulator');

  await controllerFor(t, 'restart');
  const s = await waitFor('restart', 'once', 'Ready', ready);
  const made = await fileSystemsTagged(uid);
  assert.deepEqual(
    made.map((f) => f.FileSystemId),
    [s.fileSystemID],
  );
});

test('of two replicas one leads; when it stops the other takes over the lease and the work', async (t) => {
  // These replicas read the emulator's credentials from a Secret, as they would in a cluster.
  const secret = await env.kubectl([
    'create',
    'secret',
    'generic',
    'nacre-fsx-credentials',
    '-n',
    'nacre-system',
    `--from-literal=accessKeyId=${fsx.accessKeyId}`,
    `--from-literal=secretAccessKey=${fsx.secretAccessKey}`,
  ]);
  assert.equal(secret.code, 0, secret.stderr);
  const timings = {
    emulator: { endpoint: fsx.endpoint, region: fsx.region },
    leaderElection: true,
    leaseName: 'nacre-test-ha',
    leaseDurationMs: 3_000,
    renewDeadlineMs: 2_000,
    retryPeriodMs: 200,
  };
  const h1 = await controllerFor(t, 'ha', { ...timings, identity: 'h1' });
  const h2 = await controllerFor(t, 'ha', { ...timings, identity: 'h2' });
  const leader = await eventually('a leader', () =>
    h1.c.isLeader() ? h1 : h2.c.isLeader() ? h2 : undefined,
  );
  const standby = leader === h1 ? h2 : h1;
  assert.equal(standby.c.isLeader(), false);
  await apply(
    'ha',
    'FileSystem',
    'ha1',
    '  storageCapacity: 1200\n  lustreConfiguration:\n    deploymentType: SCRATCH_2\n',
  );
  await waitFor('ha', 'ha1', 'Ready', ready);
  assert.equal(await metric(standby.c, /^nacre_controller_leader /), 0);

  await leader.stop();
  await eventually('the standby to lead', () => (standby.c.isLeader() ? true : undefined), 20_000);
  const holder = await env.kubectl([
    'get',
    'lease',
    'nacre-test-ha',
    '-n',
    'nacre-system',
    '-o',
    'jsonpath={.spec.holderIdentity}',
  ]);
  assert.equal(holder.stdout, standby.c.identity);
  await apply(
    'ha',
    'FileSystem',
    'ha2',
    '  storageCapacity: 1200\n  lustreConfiguration:\n    deploymentType: SCRATCH_2\n',
  );
  await waitFor('ha', 'ha2', 'Ready', ready);
  for (const name of ['ha1', 'ha2']) {
    const uid = (await getFs('ha', name))!.metadata.uid!;
    assert.equal((await fileSystemsTagged(uid)).length, 1, `${name} has exactly one file system`);
  }
});
