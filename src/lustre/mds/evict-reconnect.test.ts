// Eviction against a reconnect: a client that comes back while the MDS glimpses its files keeps its handles.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fakeSession, mdtWithHeldGlimpse } from '../../../test/lustre/held-glimpse-mdt.ts';
import { fourOsts, ROOT } from '../../../test/lustre/mds-fixtures.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { ROOT_INO } from '../types.ts';
import { openInode } from './handles.ts';
import { type Caller, Mdt } from './mdt.ts';

test('a client that reconnects while its eviction glimpses the OSTs keeps its handles and its registration', async (t) => {
  const { mdt, glimpsing, objects } = await mdtWithHeldGlimpse(t);
  const caller: Caller = { client: 'c1', host: 'node-a', session: undefined };
  const first = fakeSession(1);
  await mdt.connect(first, 'c1', 'node-a');
  const f = await mdt.mutate(caller, 1, ROOT, (op) =>
    mdt.ns.create(op, ROOT_INO, 'f', 0o644, true, false, 0),
  );
  const { handle } = await mdt.mutate(caller, 2, ROOT, (op) => openInode(mdt.ns, op, f.attr.ino, 1));

  // Its connection dropped and the grace period ran out (the eviction starts), then the client's
  // reconnect arrives during the glimpse.
  mdt.clients.detach('c1', first);
  const evicting = mdt.evict('c1');
  await glimpsing.promise;
  await mdt.connect(fakeSession(2), 'c1', 'node-a');
  objects.resolve(5000);
  await evicting;

  assert.equal(mdt.store.getHandle(handle)?.client, 'c1', 'the reconnected client still has its open handle');
  assert.deepEqual(mdt.store.clients(), ['c1'], 'a restart would still wait for the client');
  // Its release (with the size of its writes) works as if nothing happened.
  await mdt.mutate(caller, 3, undefined, (op) => {
    const row = mdt.store.getHandle(handle);
    assert.ok(row, 'the handle is there to release');
    mdt.ns.closeHandle(handle, op.fx);
    return null;
  });
});

test('an eviction whose glimpse fails keeps the handles and tries again: the size is not lost to an OST that was briefly away', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-evict-'));
  let glimpses = 0;
  const mdt = await Mdt.open({
    path: join(dir, 'mdt.db'),
    fsname: 'fs',
    osts: async () => fourOsts(),
    destroyObjects: async () => {},
    graceMs: 100,
    glimpse: async () => {
      glimpses++;
      if (glimpses === 1) throw new Error('OST restarting');
      return 7000;
    },
  });
  t.after(async () => {
    await mdt.close();
    await rm(dir, { recursive: true, force: true });
  });
  const caller: Caller = { client: 'c1', host: 'node-a', session: undefined };
  const f = await mdt.mutate(caller, 1, ROOT, (op) =>
    mdt.ns.create(op, ROOT_INO, 'f', 0o644, true, false, 0),
  );
  const { handle } = await mdt.mutate(caller, 2, ROOT, (op) => openInode(mdt.ns, op, f.attr.ino, 1));

  await mdt.evict('c1');
  assert.equal(mdt.store.getHandle(handle)?.client, 'c1', 'not evicted while the size cannot be read');
  await waitFor('the eviction to be retried', () => mdt.store.getHandle(handle) === undefined, 5_000);
  assert.equal(mdt.ns.inode(f.attr.ino).size, 7000, 'the size the objects have');
  assert.deepEqual(mdt.store.clients(), []);
});
