// A keeper-held mount's replies leave the MDT with the mount: its daemon sees the kernel end the connection and calls forgetMount.
import assert from 'node:assert/strict';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, it } from 'node:test';
import { readKeeperState } from '../../src/lustre/fuse/keeper.ts';
import { mdtPath } from '../../src/lustre/mds/mdt-server.ts';
import { type KeptMount, keptMount } from './daemon-kill.ts';
import { type FsCluster, startFsCluster } from './fs-cluster.ts';

let cluster: FsCluster;
let kept: KeptMount | undefined;

before(async () => {
  cluster = await startFsCluster({ ossCount: 1 });
  kept = await keptMount(cluster);
});

after(async () => {
  await kept?.unmount();
  await cluster?.stop();
});

/** Replies the MDT keeps under `mountId`, read with the MDS stopped (it holds its database exclusively). */
async function repliesOf(mountId: string): Promise<number> {
  await cluster.mds.stop();
  try {
    const db = new DatabaseSync(mdtPath(cluster.mds.dataDir, cluster.fsname), { readOnly: true });
    try {
      const row = db.prepare('SELECT count(*) AS n FROM replies WHERE client = ?').get(`mount:${mountId}`);
      return Number(row?.['n']);
    } finally {
      db.close();
    }
  } finally {
    await cluster.mds.start();
  }
}

it('the replies of a mount go when it is unmounted', { timeout: 120_000 }, async () => {
  const { mnt, stateFile } = kept!;
  const { mountId } = (await readKeeperState(stateFile))!;
  await mkdir(join(mnt, 'd'));
  await writeFile(join(mnt, 'd', 'f'), 'x');
  await rename(join(mnt, 'd', 'f'), join(mnt, 'd', 'g'));
  await rm(join(mnt, 'd', 'g'));
  const kept1 = await repliesOf(mountId);
  assert.ok(kept1 >= 4, `the mount's namespace changes are kept under its id while it is mounted (${kept1})`);
  // The daemon is connected again before the unmount (this change waits for the restarted MDS).
  await mkdir(join(mnt, 'e'));
  await kept!.unmount();
  kept = undefined;
  assert.equal(await repliesOf(mountId), 0, 'none left after the unmount');
});
