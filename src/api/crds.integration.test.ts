// The CRDs on a real kube-apiserver: they install, ACK-style manifests apply, and bad ones are refused with messages naming the field.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type OperatorEnv, startOperatorEnv } from '../../test/controller/operator-env.ts';

let env: OperatorEnv;

before(
  async () => {
    env = await startOperatorEnv({ servers: false });
  },
  { timeout: 45 * 60_000 },
);

after(async () => {
  await env?.stop();
});

const head = (kind: string, name: string) => `apiVersion: fsx.nacre.dev/v1alpha1
kind: ${kind}
metadata:
  name: ${name}
  namespace: default
`;

async function apply(manifest: string): Promise<{ ok: boolean; message: string }> {
  const r = await env.kubectl(['apply', '-f', '-'], manifest);
  return { ok: r.code === 0, message: `${r.stdout}${r.stderr}` };
}

async function refused(manifest: string, ...fragments: string[]): Promise<void> {
  const r = await apply(manifest);
  assert.equal(r.ok, false, `accepted, but should not be:\n${manifest}`);
  for (const f of fragments) assert.ok(r.message.includes(f), `"${f}" not in: ${r.message}`);
}

test('an ACK fsx-controller FileSystem manifest applies with only its apiVersion changed', async () => {
  const manifest = `${head('FileSystem', 'from-ack')}spec:
  fileSystemType: LUSTRE
  storageCapacity: 1200
  storageType: SSD
  subnetIDs:
    - subnet-0a1b2c3d4e5f60718
  securityGroupIDs:
    - sg-0a1b2c3d4e5f60718
  lustreConfiguration:
    deploymentType: PERSISTENT_2
    perUnitStorageThroughput: 250
    dataCompressionType: LZ4
    weeklyMaintenanceStartTime: "3:04:30"
    automaticBackupRetentionDays: 7
    dailyAutomaticBackupStartTime: "05:00"
    copyTagsToBackups: true
    logConfiguration:
      level: WARN_ERROR
    metadataConfiguration:
      mode: AUTOMATIC
  tags:
    - key: team
      value: research
`;
  const r = await apply(manifest);
  assert.ok(r.ok, r.message);
  const got = await env.kubectl([
    'get',
    'fsxfs',
    'from-ack',
    '-o',
    'jsonpath={.spec.lustreConfiguration.perUnitStorageThroughput}',
  ]);
  assert.equal(got.stdout, '250');
});

test('kubectl get shows the printer columns, by short name', async () => {
  const r = await env.kubectl(['get', 'fsxfs']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout.split('\n')[0]!,
    /^NAME\s+ID\s+BACKEND\s+TYPE\s+CAPACITY\s+DNS\s+LIFECYCLE\s+READY\s+AGE/,
  );
  for (const short of ['fsxdra', 'fsxtask', 'fsxbackup']) {
    assert.equal((await env.kubectl(['get', short])).code, 0, short);
  }
});

test('schema violations are refused naming the field', async () => {
  await refused(
    `${head('FileSystem', 'bad-enum')}spec:\n  storageCapacity: 1200\n  storageType: FLOPPY\n`,
    'spec.storageType',
    'FLOPPY',
  );
  await refused(
    `${head('FileSystem', 'bad-pattern')}spec:\n  storageCapacity: 1200\n  lustreConfiguration:\n    weeklyMaintenanceStartTime: "9:99:99"\n`,
    'spec.lustreConfiguration.weeklyMaintenanceStartTime',
  );
  await refused(
    `${head('FileSystem', 'too-small')}spec:\n  storageCapacity: 100\n`,
    'spec.storageCapacity',
    '1200',
  );
  await refused(
    `${head('FileSystem', 'typo')}spec:\n  storageCapacity: 1200\n  lustreConfiguration:\n    deploymentTyp: SCRATCH_2\n`,
    'unknown field "spec.lustreConfiguration.deploymentTyp"',
  );
  await refused(
    `${head('DataRepositoryTask', 'no-report')}spec:\n  fileSystemID: fs-0123456789abcdef0\n  type: EXPORT_TO_REPOSITORY\n`,
    'spec.report',
  );
});

test('cross-field rules are refused naming the field and the rule', async () => {
  await refused(
    `${head('FileSystem', 'scratch-throughput')}spec:\n  storageCapacity: 1200\n  lustreConfiguration:\n    deploymentType: SCRATCH_2\n    perUnitStorageThroughput: 125\n`,
    'spec.lustreConfiguration.perUnitStorageThroughput',
    'applies only to PERSISTENT_1 and PERSISTENT_2',
  );
  await refused(
    `${head('FileSystem', 'p2-throughput')}spec:\n  storageCapacity: 1200\n  lustreConfiguration:\n    deploymentType: PERSISTENT_2\n    perUnitStorageThroughput: 50\n`,
    'spec.lustreConfiguration.perUnitStorageThroughput',
    '125, 250, 500 or 1000',
  );
  await refused(
    `${head('FileSystem', 'p1-no-throughput')}spec:\n  storageCapacity: 1200\n  lustreConfiguration:\n    deploymentType: PERSISTENT_1\n`,
    'spec.lustreConfiguration.perUnitStorageThroughput',
    'required',
  );
  await refused(
    `${head('FileSystem', 'hdd-p2')}spec:\n  storageCapacity: 6000\n  storageType: HDD\n  lustreConfiguration:\n    deploymentType: PERSISTENT_2\n    perUnitStorageThroughput: 125\n`,
    'spec.storageType',
    'PERSISTENT_1',
  );
  await refused(
    `${head('FileSystem', 'no-capacity')}spec:\n  lustreConfiguration:\n    deploymentType: SCRATCH_2\n`,
    'spec.storageCapacity',
  );
  await refused(
    `${head('Backup', 'two-targets')}spec:\n  fileSystemRef:\n    name: x\n  fileSystemID: fs-0123456789abcdef0\n`,
    'exactly one of fileSystemRef and fileSystemID',
  );
});

test('immutable fields cannot change, capacity only grows, mutable settings change', async () => {
  const base = `${head('FileSystem', 'fixed')}spec:
  storageCapacity: 2400
  lustreConfiguration:
    deploymentType: SCRATCH_2
    weeklyMaintenanceStartTime: "1:01:00"
`;
  assert.ok((await apply(base)).ok);
  const patch = (p: object) =>
    env.kubectl(['patch', 'fsxfs', 'fixed', '--type', 'merge', '-p', JSON.stringify({ spec: p })]);
  const refusedPatch = async (p: object, ...fragments: string[]) => {
    const r = await patch(p);
    assert.notEqual(r.code, 0, `patch ${JSON.stringify(p)} was accepted`);
    for (const f of fragments) assert.ok(r.stderr.includes(f), `"${f}" not in: ${r.stderr}`);
  };
  await refusedPatch(
    { lustreConfiguration: { deploymentType: 'SCRATCH_1' } },
    'spec.lustreConfiguration.deploymentType',
    'immutable',
  );
  await refusedPatch({ storageCapacity: 1200 }, 'spec.storageCapacity', 'can only be increased');
  await refusedPatch({ backend: 'aws' }, 'spec.backend', 'immutable');
  await refusedPatch({ subnetIDs: ['subnet-0123456789abcdef0'] }, 'spec.subnetIDs', 'immutable');
  assert.equal((await patch({ storageCapacity: 4800 })).code, 0);
  assert.equal((await patch({ lustreConfiguration: { weeklyMaintenanceStartTime: '2:02:00' } })).code, 0);
});

test('a Backup cannot be pointed at another file system once created', async () => {
  assert.ok((await apply(`${head('Backup', 'b1')}spec:\n  fileSystemID: fs-0123456789abcdef0\n`)).ok);
  const r = await env.kubectl([
    'patch',
    'fsxbackup',
    'b1',
    '--type',
    'merge',
    '-p',
    '{"spec":{"fileSystemID":"fs-0123456789abcdef1"}}',
  ]);
  assert.notEqual(r.code, 0);
  assert.ok(r.stderr.includes('spec.fileSystemID'), r.stderr);
});
