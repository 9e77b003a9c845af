import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  changedConditions,
  getCondition,
  refusedAtGeneration,
  setCondition,
  setConditions,
} from './conditions.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:05:00Z');

test('a condition keeps its transition time while its status holds, and moves it when the status flips', () => {
  let c = setCondition(
    undefined,
    { type: 'Ready', status: 'False', reason: 'Creating', message: 'a' },
    1,
    t0,
  );
  c = setCondition(c, { type: 'Ready', status: 'False', reason: 'Creating', message: 'b' }, 1, t1);
  assert.equal(getCondition(c, 'Ready')?.lastTransitionTime, t0.toISOString());
  assert.equal(getCondition(c, 'Ready')?.message, 'b');
  c = setCondition(c, { type: 'Ready', status: 'True', reason: 'Available', message: 'ok' }, 2, t1);
  assert.equal(getCondition(c, 'Ready')?.lastTransitionTime, t1.toISOString());
  assert.equal(getCondition(c, 'Ready')?.observedGeneration, 2);
  assert.equal(c.length, 1);
});

test('a refusal holds for its generation only', () => {
  const refused = setConditions(
    undefined,
    [{ type: 'Synced', status: 'False', reason: 'InvalidRequest', message: 'Invalid StorageCapacity' }],
    3,
    t0,
  );
  assert.equal(refusedAtGeneration(refused, 3), true);
  assert.equal(refusedAtGeneration(refused, 4), false, 'a new spec is tried again');
  const throttled = setConditions(
    undefined,
    [{ type: 'Synced', status: 'False', reason: 'Throttled', message: '' }],
    3,
    t0,
  );
  assert.equal(refusedAtGeneration(throttled, 3), false, 'a transient failure is retried');
});

test('only conditions whose status or reason changed are reported', () => {
  const before = setConditions(
    undefined,
    [
      { type: 'Ready', status: 'False', reason: 'Creating', message: 'x' },
      { type: 'Synced', status: 'True', reason: 'Synced', message: 'x' },
    ],
    1,
    t0,
  );
  const after = setConditions(
    before,
    [
      { type: 'Ready', status: 'True', reason: 'Available', message: 'y' },
      { type: 'Synced', status: 'True', reason: 'Synced', message: 'y' },
    ],
    1,
    t1,
  );
  assert.deepEqual(
    changedConditions(before, after).map((c) => `${c.type}=${c.status}/${c.reason}`),
    ['Ready=True/Available'],
  );
});
