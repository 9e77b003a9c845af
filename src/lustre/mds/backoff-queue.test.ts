// BackoffQueue: one pass at a time, a wake during a pass runs another, a timer for work that backs off; Backoff doubles.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../../lib/wait-for.ts';
import { Backoff, BackoffQueue } from './backoff-queue.ts';

test('passes never overlap, a wake during a pass runs one more, and stop waits for the running pass', async () => {
  let running = 0;
  let passes = 0;
  let release: () => void = () => undefined;
  const q = new BackoffQueue({
    pass: async () => {
      running++;
      assert.equal(running, 1, 'one pass at a time');
      passes++;
      await new Promise<void>((r) => {
        release = r;
      });
      running--;
    },
    nextReadyAt: () => undefined,
  });
  q.wake();
  q.wake();
  q.wake();
  assert.equal(passes, 1);
  release();
  await waitFor('the second pass', () => passes === 2);
  const stopped = q.stop();
  release();
  await stopped;
  assert.equal(passes, 2, 'three wakes during one pass make one more pass');
  q.wake();
  assert.equal(passes, 2, 'nothing runs after stop');
});

test('work that backs off is picked up by the timer when it is ready', async () => {
  const backoff = new Backoff<string>(20, 1_000);
  let failures = 0;
  let done = false;
  const q = new BackoffQueue({
    pass: async () => {
      if (done || backoff.until('ost') > Date.now()) return;
      if (failures < 2) {
        failures++;
        backoff.failed('ost');
      } else {
        backoff.succeeded('ost');
        done = true;
      }
    },
    nextReadyAt: () => (done ? undefined : backoff.earliest(['ost'])),
  });
  q.wake();
  await waitFor('the third attempt to succeed', () => done, 5_000);
  await q.stop();
  assert.equal(failures, 2);
});

test('Backoff doubles from the minimum up to the maximum and forgets on success', () => {
  const b = new Backoff<number>(100, 350);
  assert.deepEqual([b.failed(1), b.failed(1), b.failed(1), b.failed(1)], [100, 200, 350, 350]);
  assert.ok(b.until(1) > Date.now());
  assert.equal(b.earliest([2]), undefined);
  b.succeeded(1);
  assert.equal(b.until(1), 0);
  assert.equal(b.failed(1), 100);
});
