// Size reports and glimpses against truncates on the MDT: a glimpse or report from before a truncate never grows the file back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeSession, mdtWithHeldGlimpse } from '../../../test/lustre/held-glimpse-mdt.ts';
import { ROOT } from '../../../test/lustre/mds-fixtures.ts';
import { ROOT_INO } from '../types.ts';
import { openInode } from './handles.ts';
import type { Caller } from './mdt.ts';

test('an eviction whose glimpse saw bytes a truncate then dropped does not grow the file back', async (t) => {
  const { mdt, glimpsing, objects } = await mdtWithHeldGlimpse(t);
  const writer: Caller = { client: 'writer', host: 'node-a', session: undefined };
  const other: Caller = { client: 'other', host: 'node-b', session: undefined };
  const first = fakeSession(1);
  await mdt.connect(first, 'writer', 'node-a');
  const f = await mdt.mutate(writer, 1, ROOT, (op) =>
    mdt.ns.create(op, ROOT_INO, 'f', 0o644, true, false, 0),
  );
  const { handle } = await mdt.mutate(writer, 2, ROOT, (op) => openInode(mdt.ns, op, f.attr.ino, 1));

  // The writer's mount dies with 5000 unreported bytes on the OSTs; its eviction glimpses them...
  mdt.clients.detach('writer', first);
  const evicting = mdt.evict('writer');
  await glimpsing.promise;
  // ...and another client truncates the file to 0 (and punches) before the eviction commits.
  await mdt.mutate(other, 1, ROOT, (op) => mdt.ns.setattr(op, f.attr.ino, { size: 0 }));
  objects.resolve(5000);
  await evicting;

  assert.equal(mdt.store.getHandle(handle), undefined, 'the writer was evicted');
  assert.equal(mdt.ns.inode(f.attr.ino).size, 0, 'the truncate committed during the glimpse holds');
});
