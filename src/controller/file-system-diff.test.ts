import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FileSystemSpec } from '../api/index.ts';
import type { FileSystemInfo } from '../fsx/backend.ts';
import { fileSystemDiff } from './file-system-diff.ts';

const current: FileSystemInfo = {
  fileSystemId: 'fs-0123456789abcdef0',
  lifecycle: 'AVAILABLE',
  storageCapacity: 1200,
  fileSystemTypeVersion: '2.15',
  tags: [],
  updatePending: false,
  lustre: {
    deploymentType: 'PERSISTENT_2',
    perUnitStorageThroughput: 125,
    weeklyMaintenanceStartTime: '2:03:00',
    automaticBackupRetentionDays: 0,
    logConfiguration: { level: 'DISABLED' },
    metadataConfiguration: { mode: 'AUTOMATIC', iops: 1500 },
    rootSquashConfiguration: { rootSquash: '65534:65534', noSquashNids: ['10.0.0.1@tcp', '10.0.0.2@tcp'] },
  },
};

test('a spec that matches the file system needs no update, however FSx spells the same values', () => {
  const spec: FileSystemSpec = {
    storageCapacity: 1200,
    lustreConfiguration: {
      deploymentType: 'PERSISTENT_2',
      perUnitStorageThroughput: 125,
      weeklyMaintenanceStartTime: '2:0300',
      dataCompressionType: 'NONE',
      metadataConfiguration: { mode: 'AUTOMATIC' },
      rootSquashConfiguration: { noSquashNids: ['10.0.0.2@tcp', '10.0.0.1@tcp'] },
    },
  };
  assert.deepEqual(fileSystemDiff(spec, current), { update: {}, changes: [] });
});

test('grown capacity and changed mutable settings make one update with only those fields', () => {
  const spec: FileSystemSpec = {
    storageCapacity: 2400,
    lustreConfiguration: {
      deploymentType: 'PERSISTENT_2',
      perUnitStorageThroughput: 250,
      automaticBackupRetentionDays: 7,
      logConfiguration: { level: 'WARN_ERROR' },
    },
  };
  const { update, changes } = fileSystemDiff(spec, current);
  assert.deepEqual(update, {
    storageCapacity: 2400,
    lustreConfiguration: {
      perUnitStorageThroughput: 250,
      automaticBackupRetentionDays: 7,
      logConfiguration: { level: 'WARN_ERROR' },
    },
  });
  assert.equal(changes[0], 'storageCapacity 1200 → 2400');
  assert.equal(changes.length, 4);
});

test('a spec smaller than the file system never asks to shrink it', () => {
  assert.deepEqual(
    fileSystemDiff({ storageCapacity: 1200 }, { ...current, storageCapacity: 2400 }).update,
    {},
  );
});
