// The emulator's placement end to end over the real MGS, MDS and four OSS in this process: a file system the target allocator creates local-first puts a node's new files on that node's OST; one created spread goes round-robin.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../../../../test/lustre/test-cluster.ts';
import { setstripePath } from '../../../lustre/client/lfs.ts';
import { connectLustre, type LustreClient } from '../../../lustre/client/lustre-client.ts';
import { placementLayout } from '../../../lustre/mds/placement.ts';
import { MgsClient } from '../../../lustre/protocol/mgs-client.ts';
import { ROOT_CREDENTIALS as ROOT, ROOT_INO } from '../../../lustre/types.ts';
import { MgsTargetAllocator } from './target-allocator.ts';

const MiB = 1 << 20;
const NODE = 'node-a';
const O_RDWR = 2;
let cluster: TestCluster;
const clients: LustreClient[] = [];

before(async () => {
  // OSS 0 runs on node-a; the others each on a host of their own. The cluster's own file system
  // (tfs) is made without a placement: spread, as before placements.
  cluster = await startTestCluster({ localHost: NODE, ossCount: 4, ostCapacityBytes: 64 * MiB });
  // What `nacre server --role=api --placement=local-first` hands the MGS with every new file system.
  const allocator = new MgsTargetAllocator(cluster.mgsAddress, {
    defaultLayout: placementLayout('local-first'),
  });
  try {
    await allocator.createFileSystem(
      { fsname: 'near', ostCount: 4, ostCapacityBytes: 64 * MiB },
      AbortSignal.timeout(30_000),
    );
  } finally {
    allocator.close();
  }
});
after(async () => {
  for (const c of clients) await c.close();
  await cluster?.close();
});

async function mount(fsname: string): Promise<LustreClient> {
  const c = await connectLustre({
    mgsAddress: cluster.mgsAddress,
    fsname,
    host: NODE,
    clientId: `${fsname}-client`,
    timeoutMs: 10_000,
    retryDeadlineMs: 20_000,
  });
  clients.push(c);
  return c;
}

/** The hosts of the OSTs each stripe of six new files in `dir` lands on. */
async function placed(fsname: string, c: LustreClient, dir: number): Promise<string[][]> {
  const mgs = new MgsClient({ address: cluster.mgsAddress });
  const hosts = new Map<number, string>();
  try {
    for (const o of (await mgs.getConfig(fsname)).osts) hosts.set(o.index, o.host);
  } finally {
    mgs.close();
  }
  const out: string[][] = [];
  for (let i = 0; i < 6; i++) {
    const { attr, handle } = await c.create(ROOT, dir, `f${i}`, 0o644, O_RDWR);
    const data = randomBytes(256 * 1024);
    await c.write(handle, 0, data);
    assert.ok((await c.read(handle, 0, data.length)).equals(data));
    await c.release(handle);
    const { layout } = await c.getstripe(attr.ino);
    out.push((layout?.osts ?? []).map((o) => hosts.get(o) ?? '?'));
  }
  return out;
}

test("local-first: a node's single-stripe files land on its own OST, and a wide file starts there", async () => {
  const c = await mount('near');
  const single = await placed('near', c, ROOT_INO);
  assert.deepEqual(single, Array(6).fill([NODE]));
  await c.mkdir(ROOT, ROOT_INO, 'wide', 0o755);
  await setstripePath(c, '/wide', { stripeCount: 2, stripeSize: MiB });
  const wide = await placed('near', c, (await c.lookup(ROOT, ROOT_INO, 'wide')).ino);
  for (const hosts of wide) assert.equal(hosts[0], NODE, `first stripe on ${NODE}: ${hosts.join(',')}`);
});

test('spread: the same writer goes round-robin over every OST', async () => {
  const c = await mount(cluster.fsname);
  const single = (await placed(cluster.fsname, c, ROOT_INO)).map((h) => h[0]);
  assert.equal(new Set(single).size, 4, `round-robin over the four OSTs: ${single.join(',')}`);
});
