// A truncate the MDS applied but whose cut of the objects failed: writes acknowledged after it are not cut later by the MDS's finishing of it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../../../test/lustre/test-cluster.ts';
import { FsError } from '../../lib/errors.ts';
import { ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../types.ts';
import { lockingWritesClient } from './data-locks.ts';
import { connectLustre, type LustreClient } from './lustre-client.ts';

const O_WRONLY = 0o1;
const O_TRUNC = 0o1000;

let cluster: TestCluster;
const clients: LustreClient[] = [];

before(async () => {
  cluster = await startTestCluster({ localHost: 'h', ossCount: 1 });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cluster?.close();
});

async function connect(clientId: string): Promise<LustreClient> {
  // recoveryMs 0: I/O to an OST that does not answer fails with EIO at once.
  const c = await connectLustre({
    mgsAddress: cluster.mgsAddress,
    fsname: cluster.fsname,
    host: 'h',
    clientId,
    recoveryMs: 0,
  });
  clients.push(c);
  return c;
}

async function read(c: LustreClient, ino: number): Promise<string> {
  const h = await c.open(ROOT, ino, 0);
  try {
    return (await c.read(h, 0, 100)).toString();
  } finally {
    await c.release(h);
  }
}

for (const how of ['setattr', 'open O_TRUNC'] as const) {
  test(`a ${how} truncate whose cut failed (OST down) does not cut the same mount's later writes`, async () => {
    const other = await connect(`${how}-other`);
    const writer = lockingWritesClient(await connect(`${how}-writer`));
    const f = await other.create(ROOT, ROOT_INO, `f-${how}`, 0o644, O_WRONLY);
    await other.write(f.handle, 0, Buffer.from('old bytes'));
    await other.release(f.handle);
    const ino = f.attr.ino;
    const w = await writer.open(ROOT, ino, O_WRONLY);
    await writer.write(w, 0, Buffer.from('x')); // the writer holds PW now, as a mount keeps it

    // The MDS applies the truncate (size 0, a cut pending); the writer cannot reach the OST to cut.
    await cluster.stopOssOf(0);
    const truncate =
      how === 'setattr' ? writer.setattr(ROOT, ino, { size: 0 }) : writer.open(ROOT, ino, O_WRONLY | O_TRUNC);
    await assert.rejects(truncate, (e: unknown) => e instanceof FsError && e.code === 'EIO');
    await cluster.restartOssOf(0);

    // The application goes on writing once the OST is back; the write is acknowledged.
    await writer.write(w, 0, Buffer.from('new'));
    await writer.release(w);
    assert.equal(await read(other, ino), 'new', 'the failed truncate was finished over a later write');
  });
}
