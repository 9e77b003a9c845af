import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatHsmState } from './lfs-hsm.ts';

test("hsm_state prints Lustre's line: hex flags, names in Lustre's order, archive id", () => {
  assert.equal(
    formatHsmState('/mnt/f', { flags: 0, archiveId: 0, location: null }),
    '/mnt/f: (0x00000000)\n',
  );
  assert.equal(
    formatHsmState('/mnt/f', { flags: 0xd, archiveId: 1, location: 's3://b/k' }),
    '/mnt/f: (0x0000000d) released exists archived, archive_id:1\n',
  );
  assert.equal(
    formatHsmState('f', { flags: 0x13, archiveId: 0, location: null }),
    'f: (0x00000013) exists dirty never_release\n',
  );
});
