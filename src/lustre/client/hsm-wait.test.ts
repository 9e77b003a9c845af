import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FsError } from '../../lib/errors.ts';
import { whileRestoring } from './hsm-wait.ts';

test('an open is asked again while the restore is in progress, and other errors pass through', async () => {
  let calls = 0;
  const v = await whileRestoring(async () => {
    calls++;
    if (calls < 3) throw new FsError('EINPROGRESS', 'restoring');
    return 'opened';
  });
  assert.deepEqual([v, calls], ['opened', 3]);
  await assert.rejects(
    whileRestoring(async () => {
      throw new FsError('EIO', 'S3 down');
    }),
    { code: 'EIO' },
  );
  await assert.rejects(
    whileRestoring(
      async () => {
        throw new FsError('EINPROGRESS', 'restoring');
      },
      undefined,
      0,
    ),
    { code: 'EIO' },
  );
  await assert.rejects(
    whileRestoring(async () => {
      throw new FsError('EINPROGRESS', 'restoring');
    }, AbortSignal.abort()),
    { code: 'EINTR' },
  );
});
