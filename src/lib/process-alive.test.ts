// processAlive against real processes: this one, a zombie not yet reaped, and pids that are gone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeZombie } from '../../test/lustre/zombie.ts';
import { processAlive } from './process-alive.ts';

test('a zombie is not alive, though kill(pid, 0) still succeeds on it; a running process is', async () => {
  assert.equal(processAlive(process.pid), true);
  const zombie = await makeZombie();
  try {
    assert.equal(processAlive(zombie.pid), false);
    assert.doesNotThrow(() => process.kill(zombie.pid, 0), 'why kill(pid, 0) is not the check');
  } finally {
    zombie.end();
  }
  assert.equal(processAlive(0), false);
  assert.equal(processAlive(2 ** 31 - 1), false);
});
