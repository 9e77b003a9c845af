// Hostile input: malformed and random arguments to every MDS method give errnos (EINVAL for malformed), never EIO or a crash.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from '../../../test/lustre/mds-fixtures.ts';
import { isErrno } from '../../lib/errors.ts';
import type { MdsMethod } from '../protocol/mds-messages.ts';
import { RpcClient } from '../protocol/rpc-client.ts';
import { type MdsServer, startMds } from './mdt-server.ts';

const KEYS: Record<Exclude<MdsMethod, 'connect'>, string[]> = {
  lookup: ['cred', 'parent', 'name'],
  getattr: ['ino'],
  getLayout: ['ino'],
  markStale: ['ino', 'stripe', 'ost'],
  setattr: ['xid', 'cred', 'ino', 'changes'],
  create: ['xid', 'cred', 'parent', 'name', 'mode', 'exclusive', 'open', 'flags'],
  mknod: ['xid', 'cred', 'parent', 'name', 'mode', 'rdev'],
  mkdir: ['xid', 'cred', 'parent', 'name', 'mode'],
  unlink: ['xid', 'cred', 'parent', 'name'],
  rmdir: ['xid', 'cred', 'parent', 'name'],
  rename: ['xid', 'cred', 'parent', 'name', 'newParent', 'newName', 'flags'],
  link: ['xid', 'cred', 'ino', 'newParent', 'newName'],
  symlink: ['xid', 'cred', 'parent', 'name', 'target'],
  readlink: ['ino'],
  open: ['xid', 'cred', 'ino', 'flags'],
  release: ['xid', 'handle'],
  extendSize: ['ino', 'end'],
  reserveAppend: ['xid', 'ino', 'length'],
  punched: ['ino', 'size'],
  readdir: ['cred', 'ino', 'cookie', 'limit', 'plus'],
  statfs: [],
  getxattr: ['cred', 'ino', 'name'],
  setxattr: ['xid', 'cred', 'ino', 'name', 'value', 'flags'],
  listxattr: ['cred', 'ino'],
  removexattr: ['xid', 'cred', 'ino', 'name'],
  getlk: ['ino', 'owner', 'lock'],
  setlk: ['ino', 'owner', 'lock'],
  flock: ['ino', 'handle', 'type'],
  unlockOwner: ['ino', 'owner'],
  lockReplay: ['posix', 'flocks'],
  snapshotCreate: ['id'],
  snapshotList: ['id', 'cursor', 'limit'],
  snapshotDrop: ['id'],
  lockEnqueue: ['ino', 'kind', 'mode'],
  forgetMount: ['mount'],
  lockCancel: ['id'],
  setstripe: ['xid', 'cred', 'ino', 'policy'],
  getstripe: ['ino'],
  hsmState: ['ino'],
  hsmSet: ['xid', 'cred', 'ino', 'set', 'clear'],
  hsmArchived: ['xid', 'cred', 'ino', 'location', 'archiveId', 'asOf'],
  hsmRelease: ['xid', 'cred', 'ino'],
  hsmRestore: ['ino'],
  hsmReplace: ['xid', 'cred', 'ino', 'replacement'],
  hsmAgentPoll: ['timeoutMs'],
  hsmRestoreDone: ['xid', 'ino', 'error', 'mtimeMs', 'token'],
  hsmLoadNext: ['ino', 'token', 'size', 'chunkBytes', 'loaded'],
  hsmWaitRange: ['ino', 'offset', 'length'],
  hsmExportOpen: ['xid', 'cred', 'inos'],
  hsmExportDone: ['xid', 'cred', 'items'],
  changelogRegister: ['cred', 'user'],
  changelogDeregister: ['cred', 'user'],
  changelogRead: ['user', 'limit'],
  changelogWait: ['after', 'waitMs'],
  changelogClear: ['user', 'upTo'],
  getProject: ['ino'],
  setProject: ['xid', 'cred', 'ino', 'projectId', 'inherit'],
  setQuota: ['xid', 'projectId', 'blockHardLimitBytes', 'inodeHardLimit'],
  getQuota: ['projectId'],
  quotaGrant: ['ino', 'end'],
};

const PLAUSIBLE: Record<string, unknown[]> = {
  cred: [ROOT, { uid: 1000, gid: 1000, groups: [] }],
  name: ['x', 'user.x', 'y'],
  newName: ['z'],
  target: ['t'],
  owner: ['o'],
  value: ['eA=='],
  // A long poll of up to 25 s outlasts the call's deadline: keep the waits short.
  waitMs: [0, 1, 50],
  type: ['read', 'write', 'unlock'],
  lock: [{ type: 'write', start: 0, end: 10, pid: 1 }],
  changes: [{ mode: 0o600 }, { size: 10 }, { atimeMs: 'now' }],
  policy: [{ stripeSize: 65_536, stripeCount: 1, stripeOffset: -1 }],
  exclusive: [true, false],
  open: [true, false],
  plus: [true, false],
  set: [0, 0x2, 0x10],
  clear: [0, 0x10],
  timeoutMs: [0, 5],
  error: [null, 'S3 is down'],
  inherit: [true, false],
  asOf: [{ mtimeMs: 0, size: 0 }],
};

const GARBAGE: unknown[] = [
  null,
  -1,
  1.5,
  2 ** 60,
  'x',
  '',
  true,
  [],
  {},
  [1, 2],
  { uid: -1, gid: 0 },
  { uid: 0, gid: 0, groups: ['x'] },
  { uid: 0, gid: 0, groups: 'all' },
  { type: 'bogus', start: 0, end: 1, pid: 1 },
  { type: 'read', start: 5, end: 1, pid: 1 },
  { mode: 'x' },
  { size: -5 },
  { atimeMs: 'later' },
  { stripeSize: 'big' },
  { stripeSize: 65_536, stripeCount: 1e9, stripeOffset: -1 },
  'a'.repeat(70_000),
  '!!not base64!!',
];

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let dir: string;
let server: MdsServer;
let c: RpcClient;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-mds-hostile-'));
  server = await startMds({
    dataDir: dir,
    listen: { host: '127.0.0.1', port: 0 },
    fsname: 'fs',
    osts: async () => [{ index: 0, target: 'fs-OST0000', host: 'h', server: 's' }],
    destroyObjects: async () => {},
  });
  c = new RpcClient({ address: server.address, timeoutMs: 5_000 });
  await c.call('connect', { clientId: 'fuzzer', host: 'h' });
});
after(async () => {
  c.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function codeOf(method: string, args: unknown): Promise<string> {
  try {
    await c.call(method, args);
    return 'OK';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

test('arguments that are not an object, or lack required fields, are EINVAL', async () => {
  for (const method of Object.keys(KEYS)) {
    for (const args of [null, [], 'str', 5])
      assert.equal(await codeOf(method, args), 'EINVAL', `${method}(${JSON.stringify(args)})`);
    if (method !== 'statfs') assert.equal(await codeOf(method, {}), 'EINVAL', `${method}({})`);
  }
  assert.equal(await codeOf('connect', { clientId: 5, host: 'h' }), 'EINVAL');
  assert.equal(await codeOf('connect', { clientId: 'x\n', host: 'h' }), 'EINVAL');
});

test('wrongly typed fields are EINVAL', async () => {
  const cases: [string, unknown][] = [
    ['getattr', { ino: 'one' }],
    ['getattr', { ino: 0 }],
    ['getattr', { ino: 1.5 }],
    ['lookup', { cred: { uid: -1, gid: 0, groups: [] }, parent: 1, name: 'x' }],
    ['lookup', { cred: { uid: 0, gid: 0, groups: [2 ** 40] }, parent: 1, name: 'x' }],
    ['lookup', { cred: ROOT, parent: 1, name: 7 }],
    ['setattr', { xid: 1, cred: ROOT, ino: 1, changes: { size: -1 } }],
    ['setattr', { xid: 1, cred: ROOT, ino: 1, changes: { mtimeMs: 'soon' } }],
    ['setlk', { ino: 1, owner: 'o', lock: { type: 'shared', start: 0, end: 1, pid: 1 } }],
    ['setxattr', { xid: 1, cred: ROOT, ino: 1, name: 'user.x', value: '%%%', flags: 0 }],
    [
      'setstripe',
      { xid: 1, cred: ROOT, ino: 1, policy: { stripeSize: 65_536, stripeCount: 'all', stripeOffset: -1 } },
    ],
    [
      'create',
      { xid: -1, cred: ROOT, parent: 1, name: 'x', mode: 0o644, exclusive: true, open: false, flags: 0 },
    ],
    [
      'create',
      { xid: 1, cred: ROOT, parent: 1, name: 'x', mode: 0o644, exclusive: 'yes', open: false, flags: 0 },
    ],
  ];
  for (const [method, args] of cases)
    assert.equal(await codeOf(method, args), 'EINVAL', `${method}(${JSON.stringify(args)})`);
});

test('random arguments to every method give an errno, never EIO, and the server keeps serving', async () => {
  const rnd = mulberry32(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const methods = Object.keys(KEYS) as (keyof typeof KEYS)[];
  const seen = new Map<string, number>();
  let xid = 1;
  for (let i = 0; i < 1500; i++) {
    const method = pick(methods);
    const args: Record<string, unknown> = {};
    for (const k of KEYS[method]) {
      const roll = rnd();
      if (roll < 0.1) continue;
      if (roll < 0.4) args[k] = pick(GARBAGE);
      else if (k === 'xid') args[k] = xid++;
      else args[k] = PLAUSIBLE[k] ? pick(PLAUSIBLE[k]) : pick([0, 1, 2, 3, 0o644, 0o40755]);
    }
    const code = await codeOf(method, args);
    assert.ok(
      code === 'OK' || isErrno(code),
      `${method}(${JSON.stringify(args).slice(0, 200)}) gave ${code}`,
    );
    assert.notEqual(code, 'EIO', `${method}(${JSON.stringify(args).slice(0, 200)})`);
    seen.set(code, (seen.get(code) ?? 0) + 1);
  }
  assert.ok((seen.get('OK') ?? 0) > 50, `some calls went through: ${JSON.stringify([...seen])}`);
  assert.ok((seen.get('EINVAL') ?? 0) > 50);
  assert.equal(await codeOf('getattr', { ino: 1 }), 'OK');
});
