// lfs quota's table and the statfs a project directory reports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatQuota } from './lfs-quota.ts';
import { projectStatfs } from './quota-statfs.ts';

const MiB = 2 ** 20;

test("lfs quota -p prints Lustre's table in kbytes, starring what is over its limit", () => {
  const q = { blockUsageBytes: 9 * MiB, inodeUsage: 3, blockHardLimitBytes: 8 * MiB, inodeHardLimit: 100 };
  const lines = formatQuota('/mnt/nacre', 42, q).split('\n');
  assert.equal(lines[0], 'Disk quotas for prj 42 (pid 42):');
  assert.deepEqual(lines[1]!.trim().split(/\s+/), [
    'Filesystem',
    'kbytes',
    'quota',
    'limit',
    'grace',
    'files',
    'quota',
    'limit',
    'grace',
  ]);
  assert.deepEqual(lines[2]!.trim().split(/\s+/), [
    '/mnt/nacre',
    '9216*',
    '0',
    '8192',
    '-',
    '3',
    '0',
    '100',
    '-',
  ]);
});

test('a project directory reports its limits as the size, never more free than the OSTs have', () => {
  const q = { blockUsageBytes: 3 * MiB, inodeUsage: 10, blockHardLimitBytes: 8 * MiB, inodeHardLimit: 100 };
  const space = { capacity: 100 * MiB, free: 50 * MiB, avail: 50 * MiB };
  const s = projectStatfs(q, space, { files: 2 ** 32, ffree: 2 ** 32 - 500 });
  assert.deepEqual(
    [s.blocks * s.bsize, s.bfree * s.bsize, s.bavail * s.bsize, s.files, s.ffree],
    [8 * MiB, 5 * MiB, 5 * MiB, 100, 90],
  );
  const tight = projectStatfs(q, { capacity: 100 * MiB, free: MiB, avail: MiB }, { files: 10, ffree: 5 });
  assert.deepEqual([tight.bfree * tight.bsize, tight.ffree], [MiB, 5]);
  const noBlockLimit = projectStatfs({ ...q, blockHardLimitBytes: 0 }, space, { files: 10, ffree: 5 });
  assert.equal(noBlockLimit.blocks * noBlockLimit.bsize, 100 * MiB);
});
