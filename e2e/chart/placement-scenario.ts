// Local-first placement through the chart: a new file's stripe lands on an OST of the writer's node, and that node reads it back over the OSS's unix socket.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pollUntil } from '../harness/processes.ts';
import { boundClaim, type VolumeWorld } from './volume-scenarios.ts';

export interface PlacementWorld extends VolumeWorld {
  /** Runs `nacre lfs <args>` as a user on a node would; its stdout. */
  lfs(args: string[]): Promise<string>;
  /** The text of /metrics of every OSS container, by "<pod>/<container>", and the node it is on. */
  osses: { key: string; node: string; scrape(): Promise<string> }[];
}

/** The OST index of every stripe of `file`, from `nacre lfs getstripe`. */
async function stripeOsts(w: PlacementWorld, file: string): Promise<number[]> {
  const out = await w.lfs(['getstripe', file]);
  const rows = [...out.matchAll(/^\s+(\d+)\s+\S+/gm)].map((m) => Number(m[1]));
  assert.ok(rows.length > 0, `no stripes in:\n${out}`);
  return rows;
}

/** The OSS serving OST `index` of file system `fsname`: the one whose metrics report its space. */
async function ossOf(w: PlacementWorld, fsname: string, index: number) {
  const target = `${fsname}-OST${index.toString(16).padStart(4, '0')}`;
  for (const o of w.osses) if ((await o.scrape()).includes(`ost="${target}"`)) return o;
  assert.fail(`no OSS serves ${target}`);
}

/** A series' value in a scrape (0 when absent); `match` is a regex over its labels. */
function sample(text: string, name: string, match: RegExp): number {
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) && match.test(line)) sum += Number(line.split(' ').pop());
  return sum;
}

/**
 * A claim of `storageClass` big enough for an OST on every OSS: a single-stripe file written on
 * node-a lands on node-a and one written on node-b on node-b; a file striped over every OST starts
 * on the writer's node; node-a reads its file back with a fresh client through its OSS's unix
 * socket (one more unix client, the bytes read out of that OSS, no new TCP client).
 */
export async function localFirstPlacement(w: PlacementWorld, storageClass: string, size: string) {
  const pv = await boundClaim(w, 'local', storageClass, size);
  const fsname = pv.spec.csi.volumeAttributes?.['mountName'] ?? '';
  const data = randomBytes(1024 * 1024);
  const onA = await w.publish('node-a', pv, 'pod-local-a');
  const onB = await w.publish('node-b', pv, 'pod-local-b');
  let near: Awaited<ReturnType<typeof ossOf>>;
  try {
    const single = join(onA.targetPath, 'single');
    await mkdir(single);
    await w.lfs(['setstripe', '-c', '1', single]);
    await writeFile(join(single, 'from-a'), data);
    await writeFile(join(onB.targetPath, 'single', 'from-b'), data);
    await mkdir(join(onA.targetPath, 'wide'));
    await w.lfs(['setstripe', '-c', '-1', join(onA.targetPath, 'wide')]);
    await writeFile(join(onA.targetPath, 'wide', 'f'), data);
    const [a] = await stripeOsts(w, join(onA.targetPath, 'single', 'from-a'));
    const [b] = await stripeOsts(w, join(onA.targetPath, 'single', 'from-b'));
    const wide = await stripeOsts(w, join(onA.targetPath, 'wide', 'f'));
    near = await ossOf(w, fsname, a!);
    assert.equal(near.node, 'node-a', `node-a's single-stripe file is on ${near.key}`);
    assert.equal((await ossOf(w, fsname, b!)).node, 'node-b', "node-b's single-stripe file");
    assert.equal(wide.length, w.osses.length, 'the wide file has a stripe on every OST');
    assert.equal((await ossOf(w, fsname, wide[0]!)).node, 'node-a', "the wide file's first stripe");
  } finally {
    await onB.release();
    await onA.release();
  }
  const clients = (t: string, transport: string) =>
    sample(t, 'nacre_rpc_connected_clients', new RegExp(`transport="${transport}"`));
  const readOut = (t: string) => sample(t, 'nacre_rpc_bytes_total', /method="read".*direction="out"/);
  const gone = await pollUntil(async () => clients(await near.scrape(), 'unix') === 0, 30_000, {
    intervalMs: 200,
  });
  assert.ok(gone, `the released clients of node-a left ${near.key}`);
  const before = await near.scrape();
  const again = await w.publish('node-a', pv, 'pod-local-again');
  try {
    assert.ok((await readFile(join(again.targetPath, 'single', 'from-a'))).equals(data));
    const after = await near.scrape();
    assert.equal(clients(after, 'unix'), 1, 'the new client came over the unix socket');
    assert.ok(clients(after, 'tcp') <= clients(before, 'tcp'), 'and no new TCP client');
    assert.ok(readOut(after) - readOut(before) >= data.length, `${near.key} served the read`);
  } finally {
    await again.release();
  }
  await w.kubectl(['-n', w.namespace, 'delete', 'pvc', 'local', '--wait=false']);
}
