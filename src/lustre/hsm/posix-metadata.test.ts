import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatLocation, formatPosixMetadata, parseLocation, parsePosixMetadata } from './posix-metadata.ts';

test('FSx metadata round-trips owner, group, mode and nanosecond times', () => {
  const a = {
    uid: 1000,
    gid: 2000,
    mode: 0o100640,
    atimeMs: 1_700_000_000_123.5,
    mtimeMs: 1_600_000_000_000,
  };
  const meta = formatPosixMetadata(a);
  assert.deepEqual(meta, {
    'file-owner': '1000',
    'file-group': '2000',
    'file-permissions': '0100640',
    'file-atime': '1700000000123500000ns',
    'file-mtime': '1600000000000000000ns',
  });
  assert.deepEqual(parsePosixMetadata(meta), a);
});

test('malformed metadata is ignored, not an error', () => {
  assert.deepEqual(
    parsePosixMetadata({
      'file-owner': '-1',
      'file-group': 'x',
      'file-permissions': '0140644',
      'file-mtime': 'yesterday',
    }),
    {},
  );
});

test('archive locations round-trip; garbage is undefined', () => {
  const l = { bucket: 'b', key: 'p/k', etag: '"abc"' };
  assert.deepEqual(parseLocation(formatLocation(l)), l);
  assert.equal(parseLocation('s3://b/k'), undefined);
  assert.equal(parseLocation(null), undefined);
});
