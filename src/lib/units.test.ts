import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from './errors.ts';
import { formatSize, parseSize } from './units.ts';

test('sizes parse with binary suffixes', () => {
  assert.equal(parseSize('65536'), 65536);
  assert.equal(parseSize('4M'), 4 * 2 ** 20);
  assert.equal(parseSize('1.5G'), 1.5 * 2 ** 30);
  assert.equal(parseSize('64KiB'), 65536);
  assert.equal(parseSize('2tb'), 2 * 2 ** 40);
});

test('bad sizes are refused with a message naming the input', () => {
  for (const bad of ['', 'x', '4Q', '-1', '1e3']) {
    assert.throws(
      () => parseSize(bad),
      (e) => e instanceof ValidationError && e.message.includes(`"${bad}"`),
    );
  }
});

test('sizes format for people', () => {
  assert.equal(formatSize(512), '512 B');
  assert.equal(formatSize(3 * 2 ** 30), '3.00 GiB');
});
