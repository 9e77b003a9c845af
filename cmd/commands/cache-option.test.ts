import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command, InvalidArgumentError } from 'commander';
import {
  cachedAliasOption,
  cacheMetadataAliasOption,
  cachesData,
  cachesMetadata,
  noCacheMetadataOption,
  noCacheOption,
} from './cache-option.ts';

function parse(args: string[]) {
  const cmd = new Command()
    .exitOverride()
    .addOption(noCacheOption())
    .addOption(cachedAliasOption())
    .addOption(cacheMetadataAliasOption())
    .addOption(noCacheMetadataOption());
  cmd.parse(args, { from: 'user' });
  const f = cmd.opts();
  return { data: cachesData(f), meta: cachesMetadata(f) };
}

test('names and attributes are cached by default, wherever pages are', () => {
  assert.deepEqual(parse([]), { data: true, meta: true });
  assert.deepEqual(parse(['--cached']), { data: true, meta: true });
  assert.deepEqual(parse(['--cache-metadata']), { data: true, meta: true });
});

test('--no-cache turns every cache off; --no-cache-metadata only the names and attributes', () => {
  assert.deepEqual(parse(['--no-cache']), { data: false, meta: false });
  assert.deepEqual(parse(['--no-cache', '--no-cache-metadata']), { data: false, meta: false });
  assert.deepEqual(parse(['--no-cache-metadata']), { data: true, meta: false });
});

test('contradicting switches are refused, naming both', () => {
  assert.throws(
    () => parse(['--no-cache', '--cache-metadata']),
    (e) => e instanceof InvalidArgumentError && /--cache-metadata and --no-cache/.test(e.message),
  );
  assert.throws(
    () => parse(['--no-cache', '--cached']),
    (e) => e instanceof InvalidArgumentError && /--cached and --no-cache/.test(e.message),
  );
});
