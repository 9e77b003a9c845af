import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../lib/errors.ts';
import { formatMountSource, parseMountSource } from './mount-source.ts';

test("Lustre's spellings parse, with or without a port", () => {
  assert.deepEqual(parseMountSource('127.0.0.1:10988@tcp:/nacre'), {
    mgsAddress: '127.0.0.1:10988',
    fsname: 'nacre',
  });
  assert.deepEqual(parseMountSource('mgs.example@tcp:/abcd1234'), {
    mgsAddress: 'mgs.example:988',
    fsname: 'abcd1234',
  });
  assert.deepEqual(parseMountSource('[::1]:7000@tcp0:/fs1/'), { mgsAddress: '[::1]:7000', fsname: 'fs1' });
  assert.equal(formatMountSource(parseMountSource('h:1@tcp:/x')), 'h:1@tcp:/x');
});

test('malformed sources are refused with the expected form in the message', () => {
  for (const bad of ['', 'nacre', 'host@tcp:', 'host:99999@tcp:/fs', 'host@tcp:/a/b']) {
    assert.throws(
      () => parseMountSource(bad),
      (e) => e instanceof ValidationError && e.message.includes('@tcp:/'),
    );
  }
});
