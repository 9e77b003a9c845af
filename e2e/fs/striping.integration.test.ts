// Striping through a real mount: `nacre lfs setstripe|getstripe`, and where the bytes land on the OSS disks.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { before, test } from 'node:test';
import { type FsCluster, NACRE, useFsCluster } from './fs-cluster.ts';
import { sh } from './shell.ts';

const MiB = 2 ** 20;
let fs: FsCluster;
let m: string;

const t = useFsCluster({ fsname: 'stripes', mounts: ['a'] });
before(async () => {
  await t.ready;
  fs = t.cluster;
  m = t.mounts['a']!;
});

const lfs = (args: string) => sh(`${NACRE.join(' ')} lfs ${args}`);

interface Layout {
  count: number;
  size: number;
  /** OST index of each stripe, in stripe order. */
  osts: number[];
}

function parseGetstripe(out: string): Layout {
  const count = /lmm_stripe_count:\s+(\d+)/.exec(out);
  const size = /lmm_stripe_size:\s+(\d+)/.exec(out);
  assert.ok(count && size, `getstripe printed a file layout:\n${out}`);
  const osts = [...out.matchAll(/^\s+(\d+)\s+\d+\.\d+\s*$/gm)].map((r) => Number(r[1]));
  return { count: Number(count[1]), size: Number(size[1]), osts };
}

/** Rebuilds a file from its objects on the OSS disks by the RAID-0 rule, as bytes. */
async function fromObjects(ino: number, layout: Layout, fileSize: number): Promise<Buffer> {
  const objects = await fs.objectsOf(ino);
  const stripes: Buffer[] = [];
  for (let i = 0; i < layout.count; i++) {
    const o = objects.find((x) => x.stripe === i);
    assert.ok(o, `stripe ${i} has an object on disk`);
    assert.equal(o.ost, layout.osts[i], `stripe ${i} is on the OST getstripe names`);
    stripes.push(await readFile(o.path));
  }
  const out = Buffer.alloc(fileSize);
  for (let off = 0; off < fileSize; off += layout.size) {
    const unit = off / layout.size;
    const stripe = stripes[unit % layout.count]!;
    const at = Math.floor(unit / layout.count) * layout.size;
    stripe.copy(out, off, at, at + Math.min(layout.size, fileSize - off));
  }
  return out;
}

test('setstripe -c 4 -S 1M: a 16 MiB file gets 4 stripes, one per OST, 4 MiB of objects on each OSS disk', async () => {
  await sh(`mkdir ${m}/wide`);
  await lfs(`setstripe -c 4 -S 1M ${m}/wide`);
  assert.match(await lfs(`getstripe ${m}/wide`), /stripe_count:\s+4\s+stripe_size:\s+1048576/);
  const src = await fs.randomFile(16 * MiB);
  await sh(`dd if=${src.path} of=${m}/wide/f bs=1M status=none`);
  const layout = parseGetstripe(await lfs(`getstripe ${m}/wide/f`));
  assert.equal(layout.count, 4);
  assert.equal(layout.size, MiB);
  assert.deepEqual([...layout.osts].sort(), [0, 1, 2, 3]);
  const ino = Number(await sh(`stat -c %i ${m}/wide/f`));
  const objects = await fs.objectsOf(ino);
  assert.deepEqual(objects.map((o) => o.ost).sort(), [0, 1, 2, 3], 'every OST data dir holds one object');
  for (const o of objects) assert.equal((await stat(o.path)).size, 4 * MiB, `object ${o.path}`);
  const rebuilt = await fromObjects(ino, layout, 16 * MiB);
  assert.equal(
    createHash('sha256').update(rebuilt).digest('hex'),
    src.sha256,
    'the objects are the file, RAID-0',
  );
});

test('a new subdirectory inherits its parent’s striping; an explicit layout on an empty file is kept', async () => {
  await sh(`mkdir -p ${m}/wide/sub && dd if=/dev/zero of=${m}/wide/sub/f bs=1M count=3 status=none`);
  assert.equal(parseGetstripe(await lfs(`getstripe ${m}/wide/sub/f`)).count, 4);

  await lfs(`setstripe -c 2 -S 64K ${m}/pair`);
  const src = await fs.randomFile(MiB + 1000);
  await sh(`dd if=${src.path} of=${m}/pair bs=1M conv=notrunc status=none`);
  const layout = parseGetstripe(await lfs(`getstripe ${m}/pair`));
  assert.equal(layout.count, 2);
  assert.equal(layout.size, 64 * 1024);
  const ino = Number(await sh(`stat -c %i ${m}/pair`));
  const rebuilt = await fromObjects(ino, layout, MiB + 1000);
  assert.equal(createHash('sha256').update(rebuilt).digest('hex'), src.sha256);
});

test('single-stripe files (the file system default) spread over all four OSTs', async () => {
  await sh(`mkdir ${m}/narrow && for i in 1 2 3 4 5 6 7 8; do echo $i > ${m}/narrow/f$i; done`);
  assert.equal(parseGetstripe(await lfs(`getstripe ${m}/narrow/f1`)).count, 1);
  const inos = (await sh(`stat -c %i ${m}/narrow/f*`)).trim().split('\n').map(Number);
  const used = new Set<number>();
  for (const ino of inos) {
    const objects = await fs.objectsOf(ino);
    assert.equal(objects.length, 1, `inode ${ino} has one object`);
    used.add(objects[0]!.ost);
  }
  assert.deepEqual([...used].sort(), [0, 1, 2, 3]);
});
