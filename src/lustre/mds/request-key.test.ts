// reserveAppend keyed by (mount id, kernel request id): a resend from a new daemon gets the first range, across an MDS restart.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { fourOsts, ROOT, TestMdsClient } from '../../../test/lustre/mds-fixtures.ts';
import { type MdsServer, startMds } from './mdt-server.ts';

let dir: string;
let server: MdsServer;
const clients: TestMdsClient[] = [];

async function start(): Promise<void> {
  server = await startMds({
    dataDir: dir,
    listen: { host: '127.0.0.1', port: 0 },
    fsname: 'fs1',
    osts: async () => fourOsts(),
    destroyObjects: async () => {},
    graceMs: 0,
  });
}

function client(id: string): TestMdsClient {
  const c = new TestMdsClient(server.address, id);
  clients.push(c);
  return c;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-mds-key-'));
  await start();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function appendFile(c: TestMdsClient): Promise<number> {
  const f = await c.call('create', {
    xid: c.nextXid(),
    cred: ROOT,
    parent: 1,
    name: 'log',
    mode: 0o644,
    exclusive: true,
    open: true,
    flags: 0o2002,
  });
  return f.attr.ino;
}

test('the same (mount, request) key from a new client gets the range of the first; other keys get new ranges', async () => {
  const dead = client('daemon-1');
  const ino = await appendFile(dead);
  const key = { mount: 'm-1', request: 4242 };
  const first = await dead.call('reserveAppend', { xid: dead.nextXid(), ino, length: 10, key });
  assert.equal(first.size, 10);
  // The next daemon of the same mount is another client with its own xids: the key alone matches.
  const next = client('daemon-2');
  const resent = await next.call('reserveAppend', { xid: next.nextXid(), ino, length: 10, key });
  assert.equal(resent.size, 10, 'the resent write lands on the bytes the first one reserved');
  const other = await next.call('reserveAppend', {
    xid: next.nextXid(),
    ino,
    length: 10,
    key: { ...key, request: 4243 },
  });
  assert.equal(other.size, 20, 'a new request gets a new range');
  const otherMount = await next.call('reserveAppend', {
    xid: next.nextXid(),
    ino,
    length: 10,
    key: { mount: 'm-2', request: 4242 },
  });
  assert.equal(otherMount.size, 30, 'the same request id on another mount is another request');
  const unkeyed = await next.call('reserveAppend', { xid: next.nextXid(), ino, length: 5 });
  assert.equal(unkeyed.size, 35);
  assert.equal((await next.call('getattr', { ino })).size, 35, 'the resend did not grow the file');
});

test('a key survives an MDS restart; a malformed key is EINVAL and changes nothing', async () => {
  const c = client('daemon-1');
  const ino = await appendFile(c);
  const key = { mount: 'm-1', request: 7 };
  assert.equal((await c.call('reserveAppend', { xid: c.nextXid(), ino, length: 3, key })).size, 3);
  c.close();
  await server.close();
  await start();
  const next = client('daemon-2');
  assert.equal((await next.call('reserveAppend', { xid: next.nextXid(), ino, length: 3, key })).size, 3);
  for (const bad of [
    { mount: '', request: 1 },
    { mount: 'a b', request: 1 },
    { mount: 'm', request: 0 },
  ]) {
    await assert.rejects(next.call('reserveAppend', { xid: next.nextXid(), ino, length: 3, key: bad }), {
      code: 'EINVAL',
    });
  }
  assert.equal((await next.call('getattr', { ino })).size, 3);
});
