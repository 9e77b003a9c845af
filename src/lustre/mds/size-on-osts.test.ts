// getattr over RPC says when the size may be on the OSTs only: while some client has the file open for writing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startLoopbackMds } from '../../../test/lustre/loopback-mds.ts';
import { ROOT, TestMdsClient } from '../../../test/lustre/mds-fixtures.ts';

test('sizeOnOsts is set while a writer has the file open, for every client; its release records the size and clears it', async (t) => {
  const mds = await startLoopbackMds();
  const a = new TestMdsClient(mds.server.address, 'a');
  const b = new TestMdsClient(mds.server.address, 'b');
  mds.onClose(() => a.close());
  mds.onClose(() => b.close());
  t.after(() => mds.close());
  const f = await a.call('create', {
    xid: a.nextXid(),
    cred: ROOT,
    parent: 1,
    name: 'f',
    mode: 0o644,
    exclusive: true,
    open: true,
    flags: 1, // O_WRONLY
  });
  assert.equal((await b.call('getattr', { ino: f.attr.ino })).sizeOnOsts, true, 'a writer has it open');
  assert.equal(
    (await a.call('getattr', { ino: f.attr.ino })).sizeOnOsts,
    undefined,
    'the writer itself knows its writes',
  );
  assert.equal((await a.call('extendSize', { ino: f.attr.ino, end: 10 })).size, 10);
  const reader = await b.call('open', { xid: b.nextXid(), cred: ROOT, ino: f.attr.ino, flags: 0 });
  // The writer's close carries the size of its writes (one round trip).
  await a.call('release', { xid: a.nextXid(), handle: f.handle!, end: 5000 });
  const after = await b.call('getattr', { ino: f.attr.ino });
  assert.equal(after.sizeOnOsts, undefined, 'only a reader is left: the MDS size is exact');
  assert.equal(after.size, 5000);
  await b.call('release', { xid: b.nextXid(), handle: reader.handle });
  const dirAttr = await b.call('getattr', { ino: 1 });
  assert.equal(dirAttr.sizeOnOsts, undefined, 'never on a directory');
});
