// The per-OST bandwidth budget: calls on one target queue behind each other; targets do not share a budget.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BandwidthBudget } from './bandwidth.ts';

test('a target moves at most its budget; another target runs beside it', async () => {
  const budget = new BandwidthBudget(10 * 2 ** 20); // 10 MiB/s: 1 MiB takes 100 ms
  const t0 = performance.now();
  await Promise.all([
    budget.take('ost0', 2 ** 20),
    budget.take('ost0', 2 ** 20),
    budget.take('ost1', 2 ** 20),
  ]);
  const elapsed = performance.now() - t0;
  assert.ok(elapsed >= 195, `two MiB on one target take 200 ms, took ${elapsed.toFixed(0)}`);
  assert.ok(elapsed < 1_000, 'the other target did not queue behind them');
  assert.throws(() => new BandwidthBudget(0), RangeError);
});
