// processAlive against real processes: this one, a zombie not yet reaped, and pids that are gone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeZombie } from '../../test/lustre/zombie.ts';
import { processAlive, processAliveSince, processStartTime } from './process-alive.ts';

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

test('a recorded start time tells the process that wrote it from another that got its pid later', async () => {
  const start = processStartTime(process.pid);
  assert.match(start ?? '', /^\d+$/);
  assert.equal(processAliveSince(process.pid, start), true);
  assert.equal(processAliveSince(process.pid, String(Number(start) + 1)), false, 'same pid, another process');
  assert.equal(processAliveSince(process.pid, undefined), true, 'state without a start time: the pid alone');
  assert.equal(processStartTime(2 ** 31 - 1), undefined);
  const zombie = await makeZombie();
  try {
    assert.equal(processAliveSince(zombie.pid, processStartTime(zombie.pid)), false);
  } finally {
    zombie.end();
  }
});
