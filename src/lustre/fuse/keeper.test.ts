// The keeper's mount lock: a lock left by a keeper that is gone, or a zombie, is taken over; a live keeper's is not.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeZombie } from '../../../test/lustre/zombie.ts';
import { lockMount } from './keeper.ts';

test('lockMount takes over the lock of a zombie keeper and refuses a live one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-keeper-'));
  const zombie = await makeZombie();
  try {
    const stateFile = join(dir, 'k.json');
    await writeFile(`${stateFile}.lock`, String(zombie.pid));
    const unlock = await lockMount(stateFile);
    assert.equal(await readFile(`${stateFile}.lock`, 'utf8'), String(process.pid));
    await assert.rejects(lockMount(stateFile), { code: 'KeeperRunning' });
    await unlock();
  } finally {
    zombie.end();
    await rm(dir, { recursive: true, force: true });
  }
});
