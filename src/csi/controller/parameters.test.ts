// StorageClass parameters, capacity rounding, volume IDs and list tokens: what CreateVolume accepts and refuses before touching anything.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsiError } from '../csi-error.ts';
import { formatVolumeId, objectNameFor, parseVolumeId } from '../volume-id.ts';
import { fileSystemCapacityGiB, GIB, rangeOf, roundUpGiB } from './capacity.ts';
import { page } from './pagination.ts';
import { parseVolumeParams } from './parameters.ts';

const refusal = (code: string, text: RegExp) => (err: unknown) => {
  assert.ok(err instanceof CsiError, String(err));
  assert.equal(err.code, code);
  assert.match(err.message, text);
  return true;
};

test('aws-fsx-csi-driver parameters become the FileSystem spec', () => {
  const p = parseVolumeParams({
    deploymentType: 'PERSISTENT_2',
    perUnitStorageThroughput: '250',
    subnetId: 'subnet-0123abcd',
    securityGroupIds: 'sg-01234567, sg-89abcdef',
    extraTags: 'team=storage,cost=lab',
    s3ImportPath: 's3://bucket/in',
    automaticBackupRetentionDays: '7',
    copyTagsToBackups: 'true',
    stripeCount: '-1',
    'csi.storage.k8s.io/pvc/name': 'data',
  });
  assert.deepEqual(p, {
    mode: 'fs',
    spec: {
      subnetIDs: ['subnet-0123abcd'],
      securityGroupIDs: ['sg-01234567', 'sg-89abcdef'],
      tags: [
        { key: 'team', value: 'storage' },
        { key: 'cost', value: 'lab' },
      ],
      stripeCount: -1,
      lustreConfiguration: {
        deploymentType: 'PERSISTENT_2',
        perUnitStorageThroughput: 250,
        automaticBackupRetentionDays: 7,
        copyTagsToBackups: true,
      },
    },
    association: { dataRepositoryPath: 's3://bucket/in', batchImportMetaDataOnCreate: true },
  });
});

test('S3 parameters on SCRATCH and PERSISTENT_1 are the legacy ImportPath/ExportPath of the FileSystem', () => {
  assert.deepEqual(
    parseVolumeParams({
      s3ImportPath: 's3://bucket/in/',
      s3ExportPath: 's3://bucket/out/',
      autoImportPolicy: 'NEW_CHANGED_DELETED',
      importedFileChunkSize: '64',
      deploymentType: 'SCRATCH_2',
    }),
    {
      mode: 'fs',
      spec: {
        lustreConfiguration: {
          deploymentType: 'SCRATCH_2',
          importPath: 's3://bucket/in/',
          exportPath: 's3://bucket/out/',
          autoImportPolicy: 'NEW_CHANGED_DELETED',
          importedFileChunkSize: 64,
        },
      },
    },
  );
});

test('bad S3 parameters are refused naming the parameter', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ s3ImportPath: 'bucket/in' }, /s3ImportPath="bucket\/in" must be an S3 URI/],
    [{ s3ImportPath: 's3://Bad_Bucket/in' }, /s3ImportPath=.* valid bucket name/],
    [{ s3ExportPath: 's3://bucket/out' }, /s3ExportPath requires s3ImportPath/],
    [{ autoImportPolicy: 'NEW' }, /autoImportPolicy requires s3ImportPath/],
    [
      { s3ImportPath: 's3://a-bucket/in', s3ExportPath: 's3://b-bucket/out' },
      /s3ExportPath=.* bucket of s3ImportPath/,
    ],
    [
      { s3ImportPath: 's3://bucket/in', autoImportPolicy: 'ALL' },
      /autoImportPolicy="ALL" must be one of NONE, NEW/,
    ],
    [
      { s3ImportPath: 's3://bucket/in', importedFileChunkSize: '0' },
      /importedFileChunkSize="0" must be an integer/,
    ],
    [
      { s3ImportPath: 's3://bucket/in', autoExportPolicy: 'NEW' },
      /autoExportPolicy needs deploymentType PERSISTENT_2/,
    ],
    [
      { deploymentType: 'PERSISTENT_2', s3ImportPath: 's3://bucket/in', s3ExportPath: 's3://bucket/out' },
      /s3ExportPath=.* one path/,
    ],
    [
      { fileSystemName: 'shared', s3ImportPath: 's3://bucket/in' },
      /s3ImportPath shapes a file system made per volume/,
    ],
  ];
  for (const [params, message] of cases) {
    assert.throws(
      () => parseVolumeParams(params),
      refusal('InvalidArgument', message),
      JSON.stringify(params),
    );
  }
});

test('fileSystemName makes a sub-directory volume; onDelete defaults to delete', () => {
  assert.deepEqual(parseVolumeParams({ fileSystemName: 'shared', stripeCount: '4', stripeSize: '1048576' }), {
    mode: 'dir',
    fileSystemName: 'shared',
    onDelete: 'delete',
    stripeCount: 4,
    stripeSize: 1048576,
  });
});

test('refusals name the parameter and what to do', () => {
  assert.throws(
    () => parseVolumeParams({ deploymentTyp: 'SCRATCH_2' }),
    refusal('InvalidArgument', /unknown StorageClass parameter "deploymentTyp"/),
  );
  assert.throws(
    () => parseVolumeParams({ stripeSize: '100000' }),
    refusal('InvalidArgument', /stripeSize=100000 must be a multiple of 65536/),
  );
  assert.throws(
    () => parseVolumeParams({ stripeCount: 'many' }),
    refusal('InvalidArgument', /stripeCount="many" must be an integer/),
  );
  assert.throws(
    () => parseVolumeParams({ onDelete: 'archive' }),
    refusal('InvalidArgument', /onDelete applies only to sub-directory volumes/),
  );
  assert.throws(
    () => parseVolumeParams({ fileSystemName: 'shared', deploymentType: 'SCRATCH_2' }),
    refusal('InvalidArgument', /deploymentType shapes a file system made per volume/),
  );
  assert.throws(
    () => parseVolumeParams({ fileSystemName: 'shared', onDelete: 'shred' }),
    refusal('InvalidArgument', /delete, retain or archive/),
  );
  assert.throws(
    () => parseVolumeParams({ fileSystemName: 'Not_A_Name' }),
    refusal('InvalidArgument', /not a FileSystem resource name/),
  );
  assert.throws(() => parseVolumeParams({ backend: 'gcp' }), refusal('InvalidArgument', /aws or emulated/));
  assert.throws(
    () => parseVolumeParams({ extraTags: 'novalue' }),
    refusal('InvalidArgument', /not key=value/),
  );
});

test('capacity rounds up to the deployment type steps and respects the limit', () => {
  const scratch1 = {};
  const scratch2 = { lustreConfiguration: { deploymentType: 'SCRATCH_2' as const } };
  const hdd12 = {
    storageType: 'HDD' as const,
    lustreConfiguration: { deploymentType: 'PERSISTENT_1' as const, perUnitStorageThroughput: 12 },
  };
  assert.equal(roundUpGiB(1, scratch1), 1200);
  assert.equal(roundUpGiB(1300 * GIB, scratch1), 2400);
  assert.equal(roundUpGiB(2500 * GIB, scratch1), 3600);
  assert.equal(roundUpGiB(1300 * GIB, scratch2), 2400);
  assert.equal(roundUpGiB(2500 * GIB, scratch2), 4800);
  assert.equal(roundUpGiB(1, hdd12), 6000);
  assert.equal(fileSystemCapacityGiB({ required: 10 * GIB, limit: 0 }, scratch2), 1200);
  assert.throws(
    () => fileSystemCapacityGiB({ required: 10 * GIB, limit: 10 * GIB }, scratch2),
    refusal('OutOfRange', /at least 1200 GiB/),
  );
  assert.throws(
    () => rangeOf({ requiredBytes: '10', limitBytes: '5' }),
    refusal('OutOfRange', /below the required/),
  );
});

test('volume IDs round-trip and name what they hold', () => {
  for (const id of [
    { kind: 'fs', namespace: 'nacre-system', fileSystem: 'pvc-1' },
    { kind: 'dir', namespace: 'nacre-system', fileSystem: 'shared', dir: 'pvc-2' },
    { kind: 'static', namespace: 'team-a', fileSystem: 'data', subPath: 'projects/x' },
    { kind: 'static', namespace: 'team-a', fileSystem: 'data', subPath: '' },
  ] as const) {
    assert.deepEqual(parseVolumeId(formatVolumeId(id)), id);
  }
  assert.throws(
    () => parseVolumeId('fs-0123'),
    refusal('InvalidArgument', /want fs\/<namespace>\/<fileSystem>/),
  );
  assert.throws(
    () => parseVolumeId('static/ns/fs/../etc'),
    refusal('InvalidArgument', /no "." or ".." parts/),
  );
  assert.throws(() => parseVolumeId('dir/ns/fs/a/b'), refusal('InvalidArgument', /exactly one directory/));
});

test('object names: a valid DNS label stays, anything else is sanitised and hashed, never colliding', () => {
  assert.equal(objectNameFor('pvc-0f3a'), 'pvc-0f3a');
  const a = objectNameFor('Sanity-Controller-Create');
  const b = objectNameFor('sanity-controller-create_');
  assert.match(a, /^sanity-controller-create-[0-9a-f]{16}$/);
  assert.notEqual(a, b);
  const long = objectNameFor('x'.repeat(128));
  assert.ok(long.length <= 63, long);
  assert.equal(objectNameFor('Sanity-Controller-Create'), a);
});

test('list tokens name the last entry: stable when entries are added or removed between pages', () => {
  const ids = ['a', 'b', 'c', 'd', 'e'];
  const p1 = page(ids, (x) => x, 2, '');
  assert.deepEqual(p1.entries, ['a', 'b']);
  const p2 = page(['a', 'c', 'd', 'e', 'bb'], (x) => x, 2, p1.nextToken);
  assert.deepEqual(p2.entries, ['bb', 'c']);
  const last = page(ids, (x) => x, 0, p1.nextToken);
  assert.deepEqual(last, { entries: ['c', 'd', 'e'], nextToken: '' });
  assert.throws(
    () => page(ids, (x) => x, 1, 'invalid-token'),
    refusal('Aborted', /not given by this driver/),
  );
  assert.throws(() => page(ids, (x) => x, -1, ''), refusal('InvalidArgument', /must not be negative/));
});
