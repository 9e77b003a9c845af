// A truncate (setattr, O_TRUNC create or open) the kernel resends to a keeper's next daemon does not cut the objects again: bytes another client wrote since the first truncate stay.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawWriter, startTestCluster } from '../../../test/lustre/test-cluster.ts';
import { O_WRONLY } from '../mds/handles.ts';
import { ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../types.ts';
import { connectLustre } from './lustre-client.ts';

const O_TRUNC = 0o1000;

test('a resent truncate (setattr size, an O_TRUNC create or an O_TRUNC open) keeps what another client wrote after the first one', async (t) => {
  const cluster = await startTestCluster({ localHost: 'h', ossCount: 1 });
  const clients: Array<{ close(): Promise<void> }> = [];
  t.after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster.close();
  });
  const connect = async (clientId: string, mountId?: string) => {
    const c = await connectLustre({
      mgsAddress: cluster.mgsAddress,
      fsname: cluster.fsname,
      host: 'h',
      clientId,
      ...(mountId !== undefined && { mountId }),
    });
    clients.push(c);
    return c;
  };
  const other = await connect('other');
  // Two daemons of one keeper-held mount: the first's replies never reached the kernel, which resends to the second.
  const dead = await connect('daemon-1', 'm-1');
  const next = await connect('daemon-2', 'm-1');

  const write = async (ino: number, text: string) => {
    const h = await other.open(ROOT, ino, O_WRONLY);
    await other.write(h, 0, Buffer.from(text));
    await other.release(h);
  };
  const read = async (ino: number) => {
    const h = await other.open(ROOT, ino, 0);
    try {
      return (await other.read(h, 0, 100)).toString();
    } finally {
      await other.release(h);
    }
  };

  // setattr(size 0): the dead daemon's truncate ran whole; another client writes; the resend comes.
  const f = await other.create(ROOT, ROOT_INO, 'f', 0o644, O_WRONLY);
  await other.write(f.handle, 0, Buffer.from('old bytes'));
  await other.release(f.handle);
  await dead.setattr(ROOT, f.attr.ino, { size: 0 }, undefined, { request: 7 });
  await write(f.attr.ino, 'new');
  await next.setattr(ROOT, f.attr.ino, { size: 0 }, undefined, { request: 7 });
  assert.equal(await read(f.attr.ino), 'new', 'the resent truncate did not cut the later write');

  // open(O_WRONLY | O_CREAT | O_TRUNC) of an existing file: the same.
  const g = await other.create(ROOT, ROOT_INO, 'g', 0o644, O_WRONLY);
  await other.write(g.handle, 0, Buffer.from('old bytes'));
  await other.release(g.handle);
  const first = await dead.create(ROOT, ROOT_INO, 'g', 0o644, O_WRONLY | O_TRUNC, undefined, { request: 8 });
  assert.equal(first.attr.size, 0);
  await write(g.attr.ino, 'new');
  const resent = await next.create(ROOT, ROOT_INO, 'g', 0o644, O_WRONLY | O_TRUNC, undefined, { request: 8 });
  await next.release(resent.handle);
  assert.equal(await read(g.attr.ino), 'new', 'the resent O_TRUNC create did not cut the later write');

  // open(O_WRONLY | O_TRUNC) of an existing file (FUSE OPEN, atomic O_TRUNC): the same, and the
  // resend gets a handle of the new daemon's own (closing it is refused with EBADF otherwise).
  const o = await other.create(ROOT, ROOT_INO, 'o', 0o644, O_WRONLY);
  await other.write(o.handle, 0, Buffer.from('old bytes'));
  await other.release(o.handle);
  const opened = await dead.open(ROOT, o.attr.ino, O_WRONLY | O_TRUNC, undefined, { request: 10 });
  assert.equal((await other.getattr(o.attr.ino)).size, 0, 'the first open truncated');
  await write(o.attr.ino, 'new');
  const reopened = await next.open(ROOT, o.attr.ino, O_WRONLY | O_TRUNC, undefined, { request: 10 });
  assert.notEqual(reopened, opened);
  await next.release(reopened);
  assert.equal(await read(o.attr.ino), 'new', 'the resent O_TRUNC open did not cut the later write');

  // The dead daemon's own writes, not yet reported: its truncate recorded no punch (the cut was
  // its job) and it died after the MDS's reply, before cutting. The resend cuts them.
  const w = await rawWriter(cluster, 'daemon-1b', 'h', Buffer.from('abcdef'));
  t.after(() => w.session.close());
  const k = { mount: 'm-1', request: 9 };
  await w.session.mutate('setattr', { cred: ROOT, ino: w.ino, changes: { size: 2, fh: w.handle }, key: k });
  await next.setattr(ROOT, w.ino, { size: 2 }, undefined, { request: 9 });
  assert.equal((await other.getattr(w.ino)).size, 2, 'the bytes past the truncate are gone');
  assert.equal(await read(w.ino), 'ab');
});
