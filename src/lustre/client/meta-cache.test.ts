// Names and attributes cached under inode-bits locks, between two clients of a real MDS on loopback: another client's change drops them before it returns.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type LoopbackMds, startLoopbackMds } from '../../../test/lustre/loopback-mds.ts';
import { ROOT_CREDENTIALS } from '../types.ts';
import type { MdsSession } from './mds-session.ts';
import { IBITS, MetaCache } from './meta-cache.ts';

let server: LoopbackMds;

before(async () => {
  server = await startLoopbackMds();
});
after(() => server.close());

function client(id: string) {
  const { mds, locks } = server.lockClient(id);
  return { mds, locks, cache: new MetaCache(locks) };
}

const create = (mds: MdsSession, parent: number, name: string) =>
  mds.mutate('create', {
    cred: ROOT_CREDENTIALS,
    parent,
    name,
    mode: 0o644,
    exclusive: true,
    open: false,
    flags: 0,
  });

test("another client's create in a directory drops this client's names and absences there before they return", async () => {
  const a = client('a');
  const b = client('b');
  const d = await b.mds.mutate('mkdir', { cred: ROOT_CREDENTIALS, parent: 1, name: 'd', mode: 0o755 });
  const lock = await a.locks.acquire({ ino: d.ino, kind: 'ibits', mode: 'PR', bits: IBITS.LOOKUP });
  a.cache.lookupLocked(lock);
  assert.equal(a.cache.lookupLock(d.ino)?.id, lock.id);
  a.cache.putName(d.ino, 'x', null, lock);
  a.cache.putName(d.ino, 'y', 77, lock);
  assert.equal(a.cache.name(d.ino, 'x'), null, 'absence cached');
  assert.equal(a.cache.name(d.ino, 'y'), 77);
  await create(b.mds, d.ino, 'x');
  assert.equal(a.cache.name(d.ino, 'x'), undefined, 'the absence went before the create returned');
  assert.equal(a.cache.name(d.ino, 'y'), undefined, 'with every other name of the directory');
  assert.equal(a.cache.lookupLock(d.ino), undefined, 'the lock was given back');
  assert.ok(a.cache.contended(d.ino), 'the directory counts as contended for a moment');
  a.cache.putName(d.ino, 'x', 5, lock);
  assert.equal(a.cache.name(d.ino, 'x'), undefined, 'nothing is cached under a lock no longer held');
});

test("attributes come with an UPDATE lock from lookup; another client's setattr drops them before it returns, and its open for writing too", async () => {
  const a = client('a2');
  const b = client('b2');
  const f = await create(b.mds, 1, 'f');
  const r = await a.mds.call('lookup', { cred: ROOT_CREDENTIALS, parent: 1, name: 'f', lockUpdate: true });
  assert.equal(typeof r.updateLock, 'number', 'an UPDATE lock comes with the lookup');
  const { updateLock, ...attr } = r;
  a.cache.putAttr(attr, updateLock);
  assert.equal(a.cache.attr(f.attr.ino)?.mode, attr.mode);
  await b.mds.mutate('setattr', { cred: ROOT_CREDENTIALS, ino: f.attr.ino, changes: { mode: 0o600 } });
  assert.equal(a.cache.attr(f.attr.ino), undefined, 'the attributes went before the chmod returned');
  const again = await a.mds.call('getattr', { ino: f.attr.ino, lockUpdate: true });
  assert.equal(again.mode & 0o777, 0o600);
  const { updateLock: l2, ...attr2 } = again;
  a.cache.putAttr(attr2, l2);
  assert.ok(a.cache.attr(f.attr.ino));
  const opened = await b.mds.mutate('open', { cred: ROOT_CREDENTIALS, ino: f.attr.ino, flags: 1 });
  assert.equal(a.cache.attr(f.attr.ino), undefined, 'an open for writing elsewhere drops them');
  const whileOpen = await a.mds.call('getattr', { ino: f.attr.ino, lockUpdate: true });
  assert.equal(
    whileOpen.updateLock,
    undefined,
    'no UPDATE lock while another client has the file open for writing',
  );
  assert.equal(whileOpen.sizeOnOsts, true);
  await b.mds.mutate('release', { handle: opened.handle });
  const after = await a.mds.call('getattr', { ino: f.attr.ino, lockUpdate: true });
  assert.equal(typeof after.updateLock, 'number', 'granted again once the writer closed');
});

test('readdirplus hands out UPDATE locks with its entries; a chmod of one entry elsewhere drops only that one', async () => {
  const a = client('a3');
  const b = client('b3');
  const d = await b.mds.mutate('mkdir', { cred: ROOT_CREDENTIALS, parent: 1, name: 'rd', mode: 0o755 });
  const [f, g] = [await create(b.mds, d.ino, 'f'), await create(b.mds, d.ino, 'g')];
  const lock = await a.locks.acquire({ ino: d.ino, kind: 'ibits', mode: 'PR', bits: IBITS.LOOKUP });
  const args = { cred: ROOT_CREDENTIALS, ino: d.ino, cookie: 0, limit: 100, plus: true, lockUpdate: true };
  const entries = await a.mds.call('readdir', args);
  const named = entries.filter((e) => e.name !== '.' && e.name !== '..');
  assert.deepEqual(named.map((e) => e.name).sort(), ['f', 'g']);
  for (const { updateLock, ...e } of named) {
    assert.equal(typeof updateLock, 'number', `${e.name} comes with a lock`);
    a.cache.putName(d.ino, e.name, e.ino, lock);
    a.cache.putAttr(e.attr!, updateLock);
  }
  await b.mds.mutate('setattr', { cred: ROOT_CREDENTIALS, ino: f.attr.ino, changes: { mode: 0o600 } });
  assert.equal(a.cache.attr(f.attr.ino), undefined);
  assert.ok(a.cache.attr(g.attr.ino), "g's attributes stay");
  assert.equal(a.cache.name(d.ino, 'f'), f.attr.ino, 'names stay: a chmod changes no name');
});
