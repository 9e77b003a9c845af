import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkFsname, checkServerInfo, normalizeCreate, sameRequest } from './validate.ts';

const einval = (e: unknown) => (e as { code?: string }).code === 'EINVAL';

test('fsnames are 1 to 8 characters of [a-z0-9]', () => {
  for (const ok of ['a', 'fs1', 'scratch0', '12345678']) assert.equal(checkFsname(ok), ok);
  for (const bad of ['', 'Fs', 'toolong99', 'a-b', 'a_b', '../x', 'é', 'a b', 5, null]) {
    assert.throws(() => checkFsname(bad), einval, String(bad));
  }
});

test('create requests get Lustre defaults and reject bad layouts and replica counts', () => {
  const { request } = normalizeCreate({ fsname: 'fs', ostCount: 2, ostCapacityBytes: 1000 });
  assert.deepEqual(request, {
    ostCount: 2,
    ostCapacityBytes: 1000,
    replicas: 1,
    defaultLayout: { stripeSize: 1 << 20, stripeCount: 1, stripeOffset: -1 },
  });
  const same = normalizeCreate({
    fsname: 'fs',
    ostCount: 2,
    ostCapacityBytes: 1000,
    replicas: 1,
    defaultLayout: { stripeSize: 1 << 20 },
  });
  assert.ok(sameRequest(request, same.request));
  const base = { fsname: 'fs', ostCount: 2, ostCapacityBytes: 1000 };
  for (const bad of [
    { ...base, ostCount: 0 },
    { ...base, ostCount: 5000 },
    { ...base, ostCapacityBytes: 0 },
    { ...base, replicas: 3 },
    { ...base, ostCount: 1, replicas: 2 },
    { ...base, defaultLayout: { stripeSize: 1000 } },
    { ...base, defaultLayout: { stripeCount: 0 } },
    { ...base, defaultLayout: { stripeOffset: 2 } },
    { ...base, defaultLayout: 'wide' },
  ]) {
    assert.throws(() => normalizeCreate(bad), einval, JSON.stringify(bad));
  }
  const wide = normalizeCreate({ ...base, defaultLayout: { stripeCount: -1, localFirst: true } });
  assert.equal(wide.request.defaultLayout.stripeCount, -1);
  assert.equal(wide.request.defaultLayout.localFirst, true);
  assert.ok(!sameRequest(request, wide.request));
});

test('server registrations are checked', () => {
  const ok = { name: 'oss-1', role: 'oss', address: '10.0.0.1:988', host: 'n1', capacityBytes: 5 };
  assert.deepEqual(checkServerInfo(ok), ok);
  assert.equal(
    checkServerInfo({ ...ok, localAddress: 'unix:/run/oss.sock' }).localAddress,
    'unix:/run/oss.sock',
  );
  for (const bad of [
    { ...ok, role: 'mgs' },
    { ...ok, address: 'nowhere' },
    { ...ok, address: 'unix:/x' },
    { ...ok, localAddress: '10.0.0.1:9' },
    { ...ok, name: '../x' },
    { ...ok, capacityBytes: -1 },
  ]) {
    assert.throws(() => checkServerInfo(bad), einval, JSON.stringify(bad));
  }
});
