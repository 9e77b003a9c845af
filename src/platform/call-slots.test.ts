// Unit tests of CallSlots: never more holders than slots, turns in order, an aborted waiter takes no slot.
import assert from 'node:assert/strict';
import test from 'node:test';
import { CallSlots } from './call-slots.ts';

test('no more holders than slots; waiters get their turn in order; an aborted waiter holds nothing', async () => {
  const slots = new CallSlots(2);
  const signal = AbortSignal.timeout(10_000);
  const a = await slots.take(signal);
  const b = await slots.take(signal);
  const order: string[] = [];
  const gone = new AbortController();
  const noted = (name: string) => (r: () => void) => {
    order.push(name);
    return r;
  };
  const c = slots.take(signal).then(noted('c'));
  const d = slots.take(gone.signal);
  const e = slots.take(signal).then(noted('e'));
  gone.abort(new Error('caller gave up'));
  await assert.rejects(d, /caller gave up/);
  a();
  a(); // giving back twice frees one slot only
  const releaseC = await c;
  assert.deepEqual(order, ['c']);
  b();
  const releaseE = await e;
  assert.deepEqual(order, ['c', 'e']);
  releaseC();
  releaseE();
  // All free again: two takes at once, no wait.
  (await slots.take(signal))();
});
