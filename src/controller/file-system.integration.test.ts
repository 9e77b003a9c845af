// The FileSystem operator against a real kube-apiserver and the emulator's real FSx API, MGS, MDS and OSS.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CreateFileSystemCommand } from '@aws-sdk/client-fsx';
import {
  type ControllerHarness,
  ready,
  startControllerHarness,
} from '../../test/controller/controller-harness.ts';
import { startCutProxy } from '../../test/controller/cut-proxy.ts';
import { eventually } from '../../test/controller/operator-env.ts';
import { waitFor as waitUntil } from '../lib/wait-for.ts';
import { getCondition } from './conditions.ts';

let h: ControllerHarness;

before(
  async () => {
    h = await startControllerHarness(['restart', 'ha']);
  },
  { timeout: 45 * 60_000 },
);

after(async () => {
  await h?.stop();
});

const SCRATCH = '  storageCapacity: 1200\n  lustreConfiguration:\n    deploymentType: SCRATCH_2\n';

async function patch(ns: string, name: string, spec: object): Promise<void> {
  const r = await h.env.kubectl([
    'patch',
    'fsxfs',
    name,
    '-n',
    ns,
    '--type',
    'merge',
    '-p',
    JSON.stringify({ spec }),
  ]);
  assert.equal(r.code, 0, r.stderr);
}

async function eventReasons(ns: string, selector: string): Promise<string[]> {
  const r = await h.env.kubectl([
    'get',
    'events',
    '-n',
    ns,
    '--field-selector',
    selector,
    '-o',
    'jsonpath={.items[*].reason}',
  ]);
  return r.stdout.split(' ');
}

async function deleted(ns: string, name: string): Promise<void> {
  assert.equal((await h.env.kubectl(['delete', 'fsxfs', name, '-n', ns, '--wait=false'])).code, 0);
  await eventually(`${ns}/${name} to go`, async () => ((await h.getFs(ns, name)) ? undefined : true));
}

const LEADER = /^nacre_controller_leader /;

const callsOf = (operation: string, outcome: string) =>
  new RegExp(
    `^nacre_fsx_api_calls_total\\{backend="emulated",operation="${operation}",outcome="${outcome}"\\}`,
  );

test('a FileSystem becomes Ready: lifecycle AVAILABLE, dnsName and mountName in status, events and metrics recorded', async () => {
  await h.apply('main', 'FileSystem', 'fs1', SCRATCH);
  const s = await h.waitFor('main', 'fs1', 'Ready', ready);
  assert.match(s.fileSystemID ?? '', /^fs-[0-9a-f]{17}$/);
  assert.ok(s.dnsName, 'dnsName');
  assert.match(s.mountName ?? '', /^[a-z][a-z0-9]{7}$/);
  assert.equal(s.backend, 'emulated');
  assert.equal(getCondition(s.conditions, 'Synced')?.status, 'True');
  const obj = await h.getFs('main', 'fs1');
  assert.deepEqual(obj?.metadata.finalizers, ['fsx.nacre.dev/finalizer']);
  const inEmulator = await h.fileSystemsTagged(obj!.metadata.uid!);
  assert.deepEqual(
    inEmulator.map((f) => [f.FileSystemId, f.Lifecycle]),
    [[s.fileSystemID, 'AVAILABLE']],
  );
  const reasons = await eventReasons('main', 'involvedObject.name=fs1');
  for (const reason of ['Created', 'Creating', 'Available'])
    assert.ok(reasons.includes(reason), `${reason} in ${reasons}`);
  assert.equal(await h.metric(h.main, callsOf('CreateFileSystem', 'Success')), 1);
  assert.ok(
    (await h.metric(h.main, /^nacre_controller_reconcile_total\{kind="FileSystem",result="requeue"\}/)) >= 1,
  );
  assert.equal((await fetch(`http://${h.main.metricsAddress}/healthz`)).status, 200);
  assert.equal((await fetch(`http://${h.main.metricsAddress}/readyz`)).status, 200);
});

test('growing storageCapacity goes UPDATING then AVAILABLE at the new capacity', async (t) => {
  await h.waitFor('main', 'fs1', 'Ready', ready);
  const lifecycles: string[] = [];
  const informer = h.fileSystems.informer('main');
  informer.on('update', (o) => {
    const l = o.status?.lifecycle;
    if (o.metadata.name === 'fs1' && l && lifecycles.at(-1) !== l) lifecycles.push(l);
  });
  await informer.start();
  t.after(() => informer.stop());
  await patch('main', 'fs1', { storageCapacity: 2400 });
  const s = await h.waitFor('main', 'fs1', 'grown and synced', (st) => {
    const synced = getCondition(st.conditions, 'Synced')?.status === 'True';
    return ready(st) && synced && st.storageCapacity === 2400 && st.observedGeneration === 2;
  });
  // The informer's own watch may deliver the last update after the wait above saw it.
  await waitUntil(
    'the informer to see AVAILABLE after UPDATING',
    () => lifecycles.at(-1) === 'AVAILABLE',
    10_000,
  );
  assert.deepEqual(
    lifecycles.slice(lifecycles.indexOf('UPDATING')),
    ['UPDATING', 'AVAILABLE'],
    `seen: ${lifecycles}`,
  );
  const inEmulator = (await h.fsx.fileSystems()).find((f) => f.FileSystemId === s.fileSystemID);
  assert.equal(inEmulator?.StorageCapacity, 2400);
});

test('tags added to the spec are set on the file system', async () => {
  const s = await h.waitFor('main', 'fs1', 'Ready', ready);
  await patch('main', 'fs1', { tags: [{ key: 'team', value: 'storage' }] });
  await eventually('the tag on the file system', async () => {
    const f = (await h.fsx.fileSystems()).find((x) => x.FileSystemId === s.fileSystemID);
    return f?.Tags?.some((t) => t.Key === 'team' && t.Value === 'storage') ? true : undefined;
  });
});

test('a spec the backend refuses is reported as InvalidRequest with its message, and retried only when the spec changes', async () => {
  await h.apply(
    'main',
    'FileSystem',
    'refused',
    '  storageCapacity: 3000\n  lustreConfiguration:\n    deploymentType: SCRATCH_2\n',
  );
  const s = await h.waitFor(
    'main',
    'refused',
    'Synced=False',
    (st) => getCondition(st.conditions, 'Synced')?.status === 'False',
  );
  const synced = getCondition(s.conditions, 'Synced')!;
  assert.equal(synced.reason, 'InvalidRequest');
  assert.match(synced.message, /StorageCapacity 3000/);
  assert.equal(getCondition(s.conditions, 'Ready')?.reason, 'InvalidRequest');
  const refusedCalls = callsOf('CreateFileSystem', 'InvalidRequest');
  assert.equal(await h.metric(h.main, refusedCalls), 1);
  // The shared controller resyncs every 500 ms: let it reconcile the object several more times.
  const reconciles = /^nacre_controller_reconcile_total\{kind="FileSystem",result="success"\}/;
  const before = await h.metric(h.main, reconciles);
  await eventually('more reconciles', async () =>
    (await h.metric(h.main, reconciles)) >= before + 6 ? true : undefined,
  );
  assert.equal(await h.metric(h.main, refusedCalls), 1, 'the refused spec was sent again');
  assert.ok(
    (await eventReasons('main', 'involvedObject.name=refused,type=Warning')).includes('InvalidRequest'),
  );

  await patch('main', 'refused', { storageCapacity: 4800 });
  await h.waitFor(
    'main',
    'refused',
    'Ready after the fix',
    (st) => ready(st) && getCondition(st.conditions, 'Synced')?.status === 'True',
  );
});

test('deleting a FileSystem deletes its file system, then releases the object', async () => {
  await h.apply('main', 'FileSystem', 'doomed', SCRATCH);
  const s = await h.waitFor('main', 'doomed', 'Ready', ready);
  await deleted('main', 'doomed');
  const left = (await h.fsx.fileSystems()).filter((f) => f.FileSystemId === s.fileSystemID);
  assert.deepEqual(left, [], 'the emulator still has the file system');
});

test('deletionPolicy Retain releases the object and leaves the file system', async () => {
  await h.apply('main', 'FileSystem', 'kept', `  deletionPolicy: Retain\n${SCRATCH}`);
  const s = await h.waitFor('main', 'kept', 'Ready', ready);
  await deleted('main', 'kept');
  const left = (await h.fsx.fileSystems()).find((f) => f.FileSystemId === s.fileSystemID);
  assert.equal(left?.Lifecycle, 'AVAILABLE');
});

test('an existing file system is adopted by fileSystemID and, by default, retained when the object goes', async () => {
  const created = await h.fsx.sdk.send(
    new CreateFileSystemCommand({
      FileSystemType: 'LUSTRE',
      StorageCapacity: 1200,
      SubnetIds: ['subnet-0123456789abcdef0'],
      LustreConfiguration: { DeploymentType: 'SCRATCH_2' },
    }),
  );
  const id = created.FileSystem!.FileSystemId!;
  await h.apply('main', 'FileSystem', 'adopted', `  fileSystemID: ${id}\n`);
  const s = await h.waitFor('main', 'adopted', 'Ready', ready);
  assert.equal(s.fileSystemID, id);
  assert.ok(s.mountName);
  assert.ok((await eventReasons('main', 'involvedObject.name=adopted')).includes('Adopted'));
  await deleted('main', 'adopted');
  assert.equal((await h.fsx.fileSystems()).find((f) => f.FileSystemId === id)?.Lifecycle, 'AVAILABLE');
});

test('a controller stopped right after CreateFileSystem and restarted makes exactly one file system', async (t) => {
  let abortFirst: (() => void) | undefined;
  const proxy = await startCutProxy(h.fsx.endpoint, 'CreateFileSystem', () => abortFirst?.());
  t.after(() => proxy.close());
  const { region, accessKeyId, secretAccessKey } = h.fsx;
  const first = await h.controllerFor(t, 'restart', {
    emulator: { endpoint: proxy.endpoint, region, accessKeyId, secretAccessKey },
  });
  abortFirst = first.abort;
  await h.apply('restart', 'FileSystem', 'once', SCRATCH);
  await proxy.cut;
  await first.stop();
  const obj = await h.getFs('restart', 'once');
  assert.equal(obj?.status?.fileSystemID, undefined, 'the first controller recorded nothing');
  const uid = obj!.metadata.uid!;
  assert.equal((await h.fileSystemsTagged(uid)).length, 1, 'the create reached the emulator');

  await h.controllerFor(t, 'restart');
  const s = await h.waitFor('restart', 'once', 'Ready', ready);
  const made = await h.fileSystemsTagged(uid);
  assert.deepEqual(
    made.map((f) => f.FileSystemId),
    [s.fileSystemID],
  );
});

test('of two replicas one leads; when it stops the other takes over the lease and the work', async (t) => {
  // These replicas read the emulator's credentials from a Secret, as they would in a cluster.
  const { endpoint, region, accessKeyId, secretAccessKey } = h.fsx;
  const secret = await h.env.kubectl([
    ...['create', 'secret', 'generic', 'nacre-fsx-credentials', '-n', 'nacre-system'],
    `--from-literal=accessKeyId=${accessKeyId}`,
    `--from-literal=secretAccessKey=${secretAccessKey}`,
  ]);
  assert.equal(secret.code, 0, secret.stderr);
  const ha = {
    emulator: { endpoint, region },
    leaderElection: true,
    leaseName: 'nacre-test-ha',
    leaseDurationMs: 3_000,
    renewDeadlineMs: 2_000,
    retryPeriodMs: 200,
  };
  const h1 = await h.controllerFor(t, 'ha', { ...ha, identity: 'h1' });
  const h2 = await h.controllerFor(t, 'ha', { ...ha, identity: 'h2' });
  await h.apply('ha', 'FileSystem', 'ha1', SCRATCH);
  await h.waitFor('ha', 'ha1', 'Ready', ready);
  // Under load a leader can miss its renew deadline and hand over: take the roles once exactly
  // one replica has led for two checks in a row and the metrics of both agree.
  let last: typeof h1 | undefined;
  const { leader, standby } = await eventually('a stable leader', async () => {
    const leading = [h1, h2].filter((r) => r.c.isLeader());
    const [now, other] = leading.length === 1 && leading[0] === h1 ? [h1, h2] : [h2, h1];
    const stable = leading.length === 1 && last === now;
    last = leading.length === 1 ? now : undefined;
    if (!stable) return undefined;
    const metrics = [await h.metric(now.c, LEADER), await h.metric(other.c, LEADER)];
    return metrics[0] === 1 && metrics[1] === 0 && now.c.isLeader()
      ? { leader: now, standby: other }
      : undefined;
  });

  await leader.stop();
  await eventually('the standby to lead', () => (standby.c.isLeader() ? true : undefined), 20_000);
  const holder = await h.env.kubectl([
    'get',
    'lease',
    'nacre-test-ha',
    '-n',
    'nacre-system',
    '-o',
    'jsonpath={.spec.holderIdentity}',
  ]);
  assert.equal(holder.stdout, standby.c.identity);
  await h.apply('ha', 'FileSystem', 'ha2', SCRATCH);
  await h.waitFor('ha', 'ha2', 'Ready', ready);
  for (const name of ['ha1', 'ha2']) {
    const uid = (await h.getFs('ha', name))!.metadata.uid!;
    assert.equal((await h.fileSystemsTagged(uid)).length, 1, `${name} has exactly one file system`);
  }
});
