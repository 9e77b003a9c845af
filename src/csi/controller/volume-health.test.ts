// The controller's view of a volume's health from its FileSystem's status: lifecycle and S3 link.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FileSystem } from '../../api/index.ts';
import { fileSystemHealth } from './volume-health.ts';

const fs = (status: FileSystem['status']): FileSystem =>
  ({ metadata: { name: 'pvc-1', namespace: 'ns' }, spec: {}, status }) as FileSystem;

test('AVAILABLE and UPDATING are healthy; any other lifecycle is INACCESSIBLE with it as the reason', () => {
  assert.deepEqual(fileSystemHealth(fs({ lifecycle: 'AVAILABLE' })), []);
  assert.deepEqual(fileSystemHealth(fs({ lifecycle: 'UPDATING' })), []);
  assert.deepEqual(fileSystemHealth(fs({ lifecycle: 'FAILED', failureDetails: { message: 'no OSTs' } })), [
    { status: 'INACCESSIBLE', reason: 'Failed', message: 'file system ns/pvc-1 is FAILED: no OSTs' },
  ]);
  assert.equal(fileSystemHealth(fs(undefined))[0]?.reason, 'Unknown');
});

test('a failed S3 link is DEGRADED: the volume works, its repository does not', () => {
  assert.deepEqual(
    fileSystemHealth(
      fs({
        lifecycle: 'AVAILABLE',
        dataRepository: { lifecycle: 'MISCONFIGURED', failureDetails: { message: 'bucket gone' } },
      }),
    ),
    [
      {
        status: 'DEGRADED',
        reason: 'DataRepositoryMisconfigured',
        message: 'the S3 link of file system ns/pvc-1 is MISCONFIGURED: bucket gone',
      },
    ],
  );
});
