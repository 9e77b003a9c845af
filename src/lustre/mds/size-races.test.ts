// Size reports and glimpses against truncates on the MDT: a glimpse or report from before a truncate never grows the file back.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fourOsts, ROOT } from '../../../test/lustre/mds-fixtures.ts';
import type { ServerSession } from '../protocol/rpc-server.ts';
import { ROOT_INO } from '../types.ts';
import { openInode } from './handles.ts';
import { type Caller, Mdt } from './mdt.ts';

function session(id: number): ServerSession {
  return { id, remote: 'test', data: new Map(), push: () => {}, onClose: () => {}, closed: false };
}

test('an eviction whose glimpse saw bytes a truncate then dropped does not grow the file back', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-size-races-'));
  const glimpsing = Promise.withResolvers<void>();
  const objects = Promise.withResolvers<number>();
  const mdt = await Mdt.open({
    path: join(dir, 'mdt.db'),
    fsname: 'fs',
    osts: async () => fourOsts(),
    destroyObjects: async () => {},
    glimpse: () => {
      glimpsing.resolve();
      return objects.promise;
    },
  });
  t.after(async () => {
    await mdt.close();
    await rm(dir, { recursive: true, force: true });
  });
  const writer: Caller = { client: 'writer', host: 'node-a', session: undefined };
  const other: Caller = { client: 'other', host: 'node-b', session: undefined };
  const first = session(1);
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
