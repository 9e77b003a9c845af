import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExponentialBackoff, WorkQueue } from './work-queue.ts';

test('a key added many times is processed once', async () => {
  const q = new WorkQueue();
  q.add('a');
  q.add('b');
  q.add('a');
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  assert.equal(q.len(), 0);
});

test('a key added while a worker holds it comes back only after done', async () => {
  const q = new WorkQueue();
  q.add('a');
  const held = await q.get();
  q.add('a');
  assert.equal(q.len(), 0, 'no second worker may get a key being processed');
  q.done(held!);
  assert.equal(q.len(), 1);
  assert.equal(await q.get(), 'a');
});

test('a waiting worker gets a key as soon as it is added', async () => {
  const q = new WorkQueue();
  const next = q.get();
  q.add('x');
  assert.equal(await next, 'x');
});

test('delayed adds arrive after their delay; the earliest of two wins', async () => {
  const q = new WorkQueue();
  const started = Date.now();
  q.addAfter('k', 5_000);
  q.addAfter('k', 30);
  assert.equal(await q.get(), 'k');
  const waited = Date.now() - started;
  assert.ok(waited >= 25 && waited < 2_000, `waited ${waited} ms`);
  q.shutDown();
});

test('backoff doubles per failure up to its cap and resets on forget', () => {
  const b = new ExponentialBackoff(100, 1_000);
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map(() => b.when('k')),
    [100, 200, 400, 800, 1_000, 1_000],
  );
  assert.equal(b.retries('k'), 6);
  assert.equal(b.when('other'), 100, 'keys back off independently');
  b.forget('k');
  assert.equal(b.when('k'), 100);
});

test('rate-limited adds use the limiter and shutdown wakes idle workers', async () => {
  const q = new WorkQueue({ limiter: new ExponentialBackoff(10, 100) });
  assert.equal(q.addRateLimited('k'), 10);
  assert.equal(q.addRateLimited('k'), 20);
  assert.equal(await q.get(), 'k');
  const idle = q.get();
  q.shutDown();
  assert.equal(await idle, undefined);
  q.add('late');
  assert.equal(await q.get(), undefined);
});

test('depth is reported as keys come and go', async () => {
  const depths: number[] = [];
  const q = new WorkQueue({ onDepth: (d) => depths.push(d) });
  q.add('a');
  q.add('b');
  await q.get();
  assert.deepEqual(depths, [1, 2, 1]);
});
