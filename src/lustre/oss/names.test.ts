import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { FsError } from '../../lib/errors.ts';
import { checkObjectId, checkTarget, objectPath } from './names.ts';

const isEinval = (e: unknown) => e instanceof FsError && e.code === 'EINVAL';

test('object ids are "<ino>.<stripe>" and nothing else', () => {
  for (const ok of ['1.0', '42.7', '9007199254740991.65535']) assert.equal(checkObjectId(ok), ok);
  const bad: unknown[] = [
    '../1.0',
    '1.0/../../etc',
    '/etc/passwd',
    '..',
    '.',
    '0.0',
    '01.0',
    '1.00',
    '1.-1',
    '-1.0',
    '+1.0',
    '1',
    '1.',
    '.1',
    '1.0.0',
    '1.65536',
    '99999999999999999.0',
    '1.0\0',
    '1.0\n',
    ' 1.0',
    '１.0',
    '',
    1,
    null,
    undefined,
    { toString: () => '1.0' },
  ];
  for (const id of bad) assert.throws(() => checkObjectId(id), isEinval, `accepted ${String(id)}`);
});

test('target names are one safe path component', () => {
  for (const ok of ['fs1-OST0000', 'scratch-MDT0000', 'a', 'A_b-9']) assert.equal(checkTarget(ok), ok);
  for (const bad of ['', '.', '..', '../x', 'a/b', '-a', '.trash-x', 'a\0', 'x'.repeat(65), 7, null]) {
    assert.throws(() => checkTarget(bad), isEinval, `accepted ${String(bad)}`);
  }
});

test('objects fan out over 256 directories inside the target', () => {
  const dirs = new Set<string>();
  for (let ino = 1; ino <= 2000; ino++) {
    const p = objectPath('/data/t', `${ino}.0`);
    assert.ok(p.startsWith('/data/t/objects/'));
    dirs.add(path.dirname(p));
  }
  assert.equal(dirs.size, 256);
});
