// Assertions on FSx API errors as the SDK raises them: the exception class (or name) and, optionally, words of the message.
import assert from 'node:assert/strict';
import { FSxServiceException } from '@aws-sdk/client-fsx';

type ExceptionClass = abstract new (...args: never[]) => FSxServiceException;

/** Awaits `p` and checks it rejected with `expected` (an SDK exception class, or the error name for unmodelled ones). */
export async function rejectsWith(
  p: Promise<unknown>,
  expected: ExceptionClass | string,
  message?: RegExp,
): Promise<FSxServiceException> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof FSxServiceException, `expected an FSx exception, got ${String(err)}`);
    if (typeof expected === 'string') assert.equal(err.name, expected, err.message);
    else assert.ok(err instanceof expected, `expected ${expected.name}, got ${err.name}: ${err.message}`);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected the call to fail with ${typeof expected === 'string' ? expected : expected.name}`);
}
