// waitFor: resolves with the check's value once it holds, fails at its deadline naming what it waited for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeadlineExceededError } from './errors.ts';
import { waitFor, waitWithin } from './wait-for.ts';

test('resolves with the first value that is neither undefined nor false', async () => {
  let n = 0;
  assert.equal(await waitFor('n to reach 3', () => (++n >= 3 ? n : undefined), { intervalMs: 1 }), 3);
  let m = 0;
  assert.equal(await waitFor('m to reach 2', async () => ++m >= 2, { intervalMs: 1 }), true);
});

test('fails after its timeout with DeadlineExceededError naming the condition', async () => {
  const started = Date.now();
  await assert.rejects(
    waitFor('the moon', () => false, 100),
    (err: unknown) => {
      assert.ok(err instanceof DeadlineExceededError);
      assert.match(err.message, /timed out after 100 ms waiting for the moon/);
      return true;
    },
  );
  assert.ok(Date.now() - started >= 100);
});

test('an error from the check ends the wait, unless retryErrors, which names the last one on timeout', async () => {
  await assert.rejects(
    waitFor('x', () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  let calls = 0;
  const flaky = () => {
    if (++calls < 3) throw new Error('not yet');
    return 'ok';
  };
  assert.equal(await waitFor('flaky', flaky, { retryErrors: true, intervalMs: 1 }), 'ok');
  await assert.rejects(
    waitFor(
      'never',
      () => {
        throw new Error('still broken');
      },
      { retryErrors: true, timeoutMs: 30 },
    ),
    /waiting for never; last error: still broken/,
  );
});

test('an aborted signal ends the wait with its reason', async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('stopped')), 20);
  await assert.rejects(
    waitFor('forever', () => false, { signal: ac.signal, timeoutMs: 5_000 }),
    /stopped/,
  );
});

test('waitWithin answers undefined at its deadline or on abort, the value when the check holds, and passes other errors on', async () => {
  assert.equal(await waitWithin('never', () => false, { timeoutMs: 30, intervalMs: 5 }), undefined);
  const ac = new AbortController();
  ac.abort(new Error('stopped'));
  assert.equal(await waitWithin('never', () => false, { timeoutMs: 5_000, signal: ac.signal }), undefined);
  let n = 0;
  assert.equal(
    await waitWithin('the third call', () => (++n >= 3 ? 'ok' : undefined), {
      timeoutMs: 5_000,
      intervalMs: 1,
    }),
    'ok',
  );
  await assert.rejects(
    waitWithin(
      'a broken check',
      () => {
        throw new Error('broken');
      },
      { timeoutMs: 5_000 },
    ),
    /broken/,
  );
});
