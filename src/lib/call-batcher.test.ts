import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallBatcher } from './call-batcher.ts';

/** A send whose calls the test answers by hand. */
function manualSend() {
  const calls: { items: number[]; answer: PromiseWithResolvers<number[]> }[] = [];
  const send = (items: number[]) => {
    const answer = Promise.withResolvers<number[]>();
    calls.push({ items, answer });
    return answer.promise;
  };
  return { calls, send };
}
const turn = () => new Promise<void>((r) => setImmediate(r));

test('calls of one turn go in one batch; calls made while it is out go together in the next, at most maxBatch each', async () => {
  const { calls, send } = manualSend();
  const b = new CallBatcher(send, { maxBatch: 3 });
  const first = [1, 2].map((n) => b.call(n));
  await turn();
  assert.deepEqual(
    calls.map((c) => c.items),
    [[1, 2]],
  );
  const later = [3, 4, 5, 6].map((n) => b.call(n));
  await turn();
  assert.equal(calls.length, 1, 'nothing more leaves while a batch is out');
  calls[0]!.answer.resolve([10, 20]);
  assert.deepEqual(await Promise.all(first), [10, 20]);
  await turn();
  assert.deepEqual(
    calls.map((c) => c.items),
    [
      [1, 2],
      [3, 4, 5],
    ],
  );
  calls[1]!.answer.resolve([30, 40, 50]);
  await turn();
  assert.deepEqual(calls[2]!.items, [6]);
  calls[2]!.answer.resolve([60]);
  assert.deepEqual(await Promise.all(later), [30, 40, 50, 60]);
  assert.deepEqual(b.stats, { batches: 3, items: 6 });
});

test('a failed send rejects the items of its batch only; a wrong count of results rejects them too', async () => {
  const { calls, send } = manualSend();
  const b = new CallBatcher(send, { maxBatch: 10 });
  const one = b.call(1);
  await turn();
  const two = b.call(2);
  calls[0]!.answer.reject(new Error('MDS gone'));
  await assert.rejects(one, /MDS gone/);
  await turn();
  calls[1]!.answer.resolve([1, 2]);
  await assert.rejects(two, /a batch of 1 got 2 results/);
  const three = b.call(3);
  await turn();
  calls[2]!.answer.resolve([33]);
  assert.equal(await three, 33, 'the batcher goes on after failures');
});
