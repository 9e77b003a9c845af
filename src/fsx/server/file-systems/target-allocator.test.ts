import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ostCapacityBytes, ostCountFor, replicasFor } from './target-allocator.ts';

test('one OST per 1.2 TiB unit, and at least one per replica so every stripe has a mirror OST', () => {
  assert.equal(ostCountFor(1200), 1);
  assert.equal(ostCountFor(4800), 4);
  assert.equal(ostCountFor(1200, replicasFor('PERSISTENT_2')), 2);
  assert.equal(ostCountFor(1200, replicasFor('SCRATCH_2')), 1);
  assert.equal(ostCapacityBytes(1200, 2, 1024 * 1024), 600 * 1024 * 1024);
});
