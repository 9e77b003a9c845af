// Backups, restores, data repository associations and tasks against a real kube-apiserver and the emulator's real servers.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DescribeBackupsCommand, DescribeDataRepositoryAssociationsCommand } from '@aws-sdk/client-fsx';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  type ControllerHarness,
  ready,
  startControllerHarness,
} from '../../test/controller/controller-harness.ts';
import { eventually } from '../../test/controller/operator-env.ts';

let h: ControllerHarness;

before(
  async () => {
    h = await startControllerHarness([]);
  },
  { timeout: 45 * 60_000 },
);

after(async () => {
  await h?.stop();
});

const PERSISTENT =
  '  storageCapacity: 1200\n  lustreConfiguration:\n    deploymentType: PERSISTENT_2\n    perUnitStorageThroughput: 125\n';

test('a Backup of a FileSystem becomes AVAILABLE, restores into a new FileSystem, and is deleted with its object', async () => {
  await h.apply('main', 'FileSystem', 'source', PERSISTENT);
  const src = await h.waitFor('main', 'source', 'Ready', ready);
  await h.apply('main', 'Backup', 'bk1', '  fileSystemRef:\n    name: source\n');
  await h.waitForCondition('fsxbackup', 'main', 'bk1', 'Ready', 'Available');
  const got = await h.env.kubectl([
    'get',
    'fsxbackup',
    'bk1',
    '-n',
    'main',
    '-o',
    'jsonpath={.status.backupID}|{.status.fileSystemID}|{.status.lifecycle}',
  ]);
  const [backupId, fsId, lifecycle] = got.stdout.split('|');
  assert.match(backupId ?? '', /^backup-[0-9a-f]+$/);
  assert.equal(fsId, src.fileSystemID);
  assert.equal(lifecycle, 'AVAILABLE');
  const described = await h.fsx.sdk.send(new DescribeBackupsCommand({ BackupIds: [backupId!] }));
  assert.equal(described.Backups?.[0]?.Lifecycle, 'AVAILABLE');

  await h.apply('main', 'FileSystem', 'restored', `  backupID: ${backupId}\n`);
  const restored = await h.waitFor('main', 'restored', 'Ready', ready);
  assert.notEqual(restored.fileSystemID, src.fileSystemID);
  assert.equal(restored.deploymentType, 'PERSISTENT_2');

  assert.equal((await h.env.kubectl(['delete', 'fsxbackup', 'bk1', '-n', 'main', '--timeout=60s'])).code, 0);
  await assert.rejects(h.fsx.sdk.send(new DescribeBackupsCommand({ BackupIds: [backupId!] })), {
    name: 'BackupNotFound',
  });
});

test('a Backup of a SCRATCH file system is refused by the backend and reported, not retried', async () => {
  await h.apply(
    'main',
    'FileSystem',
    'scratch',
    '  storageCapacity: 1200\n  lustreConfiguration:\n    deploymentType: SCRATCH_2\n',
  );
  await h.waitFor('main', 'scratch', 'Ready', ready);
  await h.apply('main', 'Backup', 'bk2', '  fileSystemRef:\n    name: scratch\n');
  const synced = await h.waitForCondition('fsxbackup', 'main', 'bk2', 'Synced', 'InvalidRequest');
  assert.match(synced, /CreateBackup: BadRequest: Backups are not supported for SCRATCH_2/);
  const calls =
    /^nacre_fsx_api_calls_total\{backend="emulated",operation="CreateBackup",outcome="InvalidRequest"\}/;
  const reconciles = /^nacre_controller_reconcile_total\{kind="Backup",result="success"\}/;
  const before = await h.metric(h.main, reconciles);
  await eventually('more reconciles', async () =>
    (await h.metric(h.main, reconciles)) >= before + 4 ? true : undefined,
  );
  assert.equal(await h.metric(h.main, calls), 1);
  assert.equal((await h.env.kubectl(['delete', 'fsxbackup', 'bk2', '-n', 'main', '--timeout=30s'])).code, 0);
});

test('an association and an export task map to the emulator with their status mirrored, and delete cleanly', async () => {
  const minio = h.env.cluster.minio!;
  const s3 = new S3Client({
    endpoint: minio.endpoint,
    region: minio.region,
    forcePathStyle: true,
    credentials: { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey },
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'operator-repo' }));
  s3.destroy();
  await h.apply('main', 'FileSystem', 'linked', PERSISTENT);
  await h.waitFor('main', 'linked', 'Ready', ready);
  const dra =
    '  fileSystemRef:\n    name: linked\n  fileSystemPath: /ns1\n  dataRepositoryPath: s3://operator-repo/prefix/\n';
  await h.apply('main', 'DataRepositoryAssociation', 'dra1', dra);
  await h.waitForCondition('fsxdra', 'main', 'dra1', 'Ready', 'Available');
  const got = await h.env.kubectl([
    'get',
    'fsxdra',
    'dra1',
    '-n',
    'main',
    '-o',
    'jsonpath={.status.associationID}|{.status.lifecycle}',
  ]);
  const [draId, lifecycle] = got.stdout.split('|');
  assert.match(draId ?? '', /^dra-[0-9a-f]{17}$/);
  assert.equal(lifecycle, 'AVAILABLE');

  const task =
    '  fileSystemRef:\n    name: linked\n  type: EXPORT_TO_REPOSITORY\n  report:\n    enabled: false\n';
  await h.apply('main', 'DataRepositoryTask', 'export1', task);
  await h.waitForCondition('fsxtask', 'main', 'export1', 'Ready', 'Succeeded');
  const t = await h.env.kubectl([
    'get',
    'fsxtask',
    'export1',
    '-n',
    'main',
    '-o',
    'jsonpath={.status.taskID}|{.status.lifecycle}',
  ]);
  assert.match(t.stdout, /^task-[0-9a-f]{17}\|SUCCEEDED$/);
  assert.equal(
    (await h.env.kubectl(['delete', 'fsxtask', 'export1', '-n', 'main', '--timeout=30s'])).code,
    0,
  );
  assert.equal((await h.env.kubectl(['delete', 'fsxdra', 'dra1', '-n', 'main', '--timeout=60s'])).code, 0);
  await assert.rejects(
    h.fsx.sdk.send(new DescribeDataRepositoryAssociationsCommand({ AssociationIds: [draId!] })),
    {
      name: 'DataRepositoryAssociationNotFound',
    },
  );
});
