import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRootSquash, nidMatches, parseSquashIds } from './root-squash.ts';

test('root squash ids are UID:GID; anything else is EINVAL', () => {
  assert.deepEqual(parseSquashIds('65534:65534'), { uid: 65534, gid: 65534 });
  for (const bad of ['65534', '-1:0', 'a:b', '1:2:3', '4294967295:0', ''])
    assert.throws(() => parseSquashIds(bad), { code: 'EINVAL' });
});

test('NIDs match exact addresses, * octets and [a-b] ranges, with or without @tcp', () => {
  const nids = ['10.0.0.5@tcp', '192.168.*.1', '172.16.0.[10-20]@tcp'];
  assert.ok(nidMatches(nids, '10.0.0.5:40000'));
  assert.ok(nidMatches(nids, '::ffff:10.0.0.5:40000'));
  assert.ok(nidMatches(nids, '192.168.77.1:1'));
  assert.ok(nidMatches(nids, '172.16.0.15:1'));
  assert.ok(!nidMatches(nids, '172.16.0.21:1'));
  assert.ok(!nidMatches(nids, '10.0.0.50:1'));
  assert.ok(!nidMatches(nids, 'unix'));
});

test('a setting from the network is checked whole', () => {
  assert.equal(checkRootSquash(null), undefined);
  assert.deepEqual(checkRootSquash({ uid: 1, gid: 2 }), { uid: 1, gid: 2, nosquashNids: [] });
  assert.throws(() => checkRootSquash({ uid: 1, gid: 2, nosquashNids: ['10.0.0.1@o2ib'] }), {
    code: 'EINVAL',
  });
  assert.throws(() => checkRootSquash({ uid: 'x', gid: 2 }), { code: 'EINVAL' });
});
