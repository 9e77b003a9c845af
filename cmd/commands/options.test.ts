import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { addressOption, intOption, listenOption, sizeOption } from './options.ts';

test('listen addresses take port 0 and IPv6 brackets; bad ones say what is wanted', () => {
  assert.deepEqual(listenOption('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(listenOption('[::1]:9000'), { host: '::1', port: 9000 });
  for (const bad of ['127.0.0.1', ':80', 'h:', 'h:70000', 'h:x']) {
    assert.throws(
      () => listenOption(bad),
      (e) => e instanceof InvalidArgumentError && e.message.includes('host:port'),
    );
  }
});

test('addresses, sizes and integers are checked once at the edge', () => {
  assert.equal(addressOption('unix:/run/oss.sock'), 'unix:/run/oss.sock');
  assert.throws(() => addressOption('nohost'), InvalidArgumentError);
  assert.equal(sizeOption('4M'), 4 << 20);
  assert.throws(() => sizeOption('4Q'), InvalidArgumentError);
  assert.equal(intOption('-1'), -1);
  assert.throws(() => intOption('1.5'), InvalidArgumentError);
});
