import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { FsError } from '../../lib/errors.ts';
import { encodeFrame } from '../protocol/frame.ts';
import { OssClient } from '../protocol/oss-client.ts';
import { RpcClient } from '../protocol/rpc-client.ts';
import { objectDir } from './names.ts';
import { type OssServer, startOss } from './oss-server.ts';

const MiB = 1 << 20;
let dir: string;
let oss: OssServer;
let client: OssClient;
let targetSeq = 0;

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

async function newTarget(capacityBytes = 64 * MiB): Promise<string> {
  const target = `t-OST${(targetSeq++).toString(16).padStart(4, '0')}`;
  await client.createTarget(target, capacityBytes);
  return target;
}

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nacre-oss-'));
  oss = await startOss({
    dataDir: path.join(dir, 'data'),
    name: 'oss-test',
    host: 'node-a',
    listen: { host: '127.0.0.1', port: 0 },
    unixSocket: path.join(dir, 'oss.sock'),
  });
  client = new OssClient({ address: oss.address });
});

after(async () => {
  client.close();
  await oss.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('1 MiB written is read back; reads are short at the end and empty for missing objects', async () => {
  const t = await newTarget();
  const data = randomBytes(MiB);
  assert.equal(await client.write({ target: t, object: '5.0', offset: 0 }, data), MiB);
  assert.deepEqual(await client.read({ target: t, object: '5.0', offset: 0, length: MiB }), data);
  const tail = await client.read({ target: t, object: '5.0', offset: MiB - 100, length: 4096 });
  assert.deepEqual(tail, data.subarray(MiB - 100));
  assert.equal((await client.read({ target: t, object: '5.0', offset: 2 * MiB, length: 10 })).length, 0);
  assert.equal((await client.read({ target: t, object: '6.0', offset: 0, length: MiB })).length, 0);
  assert.equal(await client.getattr({ target: t, object: '6.0' }), null);
  assert.equal((await client.getattr({ target: t, object: '5.0' }))?.size, MiB);
});

test('punch truncates, extends with a hole that reads as zeros, and creates a missing object', async () => {
  const t = await newTarget();
  await client.write({ target: t, object: '7.1', offset: 0, sync: true }, Buffer.from('hello world'));
  await client.punch({ target: t, object: '7.1', size: 5 });
  assert.equal((await client.read({ target: t, object: '7.1', offset: 0, length: 100 })).toString(), 'hello');
  await client.punch({ target: t, object: '7.1', size: 8 });
  const r = await client.read({ target: t, object: '7.1', offset: 0, length: 100 });
  assert.deepEqual(r, Buffer.concat([Buffer.from('hello'), Buffer.alloc(3)]));
  await client.punch({ target: t, object: '8.0', size: 3 * MiB });
  assert.equal((await client.getattr({ target: t, object: '8.0' }))?.size, 3 * MiB);
  await client.sync({ target: t, object: '8.0' });
  await client.sync({ target: t, object: '999.0' });
});

test('statfs counts allocated bytes: holes are free, destroy gives the space back', async () => {
  const t = await newTarget(10 * MiB);
  const empty = await client.statfs(t);
  assert.deepEqual(
    { ...empty, availBytes: 0 },
    { target: t, capacityBytes: 10 * MiB, usedBytes: 0, availBytes: 0, objects: 0 },
  );
  assert.equal(empty.availBytes, 10 * MiB);
  await client.write({ target: t, object: '1.0', offset: 0 }, randomBytes(2 * MiB));
  await client.punch({ target: t, object: '2.0', size: 1 << 40 });
  const s = await client.statfs(t);
  assert.equal(s.objects, 2);
  assert.ok(s.usedBytes >= 2 * MiB && s.usedBytes < 2 * MiB + 64 * 1024, `used ${s.usedBytes}`);
  assert.equal(s.availBytes, 10 * MiB - s.usedBytes);
  await client.destroy({ target: t, objects: ['1.0', '2.0', '3.0'] });
  assert.deepEqual(await client.statfs(t), empty);
  assert.equal((await client.read({ target: t, object: '1.0', offset: 0, length: 10 })).length, 0);
});

test('ENOSPC when a write would pass the capacity; overwrites still fit; destroy frees space', async () => {
  const t = await newTarget(3 * MiB + 128 * 1024);
  for (const ino of [1, 2, 3])
    await client.write({ target: t, object: `${ino}.0`, offset: 0 }, randomBytes(MiB));
  await assert.rejects(
    client.write({ target: t, object: '4.0', offset: 0 }, randomBytes(MiB)),
    code('ENOSPC'),
  );
  await assert.rejects(
    client.write({ target: t, object: '1.0', offset: MiB }, randomBytes(MiB)),
    code('ENOSPC'),
  );
  const again = randomBytes(MiB);
  await client.write({ target: t, object: '1.0', offset: 0 }, again);
  await client.write({ target: t, object: '4.0', offset: 0 }, randomBytes(64 * 1024));
  const s = await client.statfs(t);
  assert.ok(s.usedBytes <= s.capacityBytes, `used ${s.usedBytes} of ${s.capacityBytes}`);
  await client.destroy({ target: t, objects: ['2.0'] });
  await client.write({ target: t, object: '4.0', offset: 64 * 1024 }, randomBytes(MiB - 64 * 1024));
  assert.deepEqual(await client.read({ target: t, object: '1.0', offset: 0, length: MiB }), again);
});

test('concurrent writes to different offsets of one object all land', async () => {
  const t = await newTarget();
  const chunk = 256 * 1024;
  const parts = Array.from({ length: 32 }, () => randomBytes(chunk));
  const order = parts.map((_, i) => i).sort(() => Math.random() - 0.5);
  await Promise.all(
    order.map((i) => client.write({ target: t, object: '11.0', offset: i * chunk }, parts[i]!)),
  );
  const all = await client.read({ target: t, object: '11.0', offset: 0, length: 32 * chunk });
  assert.deepEqual(all, Buffer.concat(parts));
  const s = await client.statfs(t);
  assert.ok(s.usedBytes >= 8 * MiB && s.usedBytes < 8 * MiB + 64 * 1024, `used ${s.usedBytes}`);
});

test('bad object ids and target names are EINVAL and touch nothing outside the data directory', async () => {
  const t = await newTarget();
  const before = await fs.readdir(dir);
  const badIds = [
    '../../../../escape.0',
    '../../../../../escape.0',
    '1.0/../../x',
    '/tmp/x',
    '..',
    '1',
    '0.0',
    'a.b',
    '1.0\0',
  ];
  for (const object of badIds) {
    await assert.rejects(client.write({ target: t, object, offset: 0 }, Buffer.from('x')), code('EINVAL'));
    await assert.rejects(client.read({ target: t, object, offset: 0, length: 1 }), code('EINVAL'));
    await assert.rejects(client.punch({ target: t, object, size: 1 }), code('EINVAL'));
    await assert.rejects(client.destroy({ target: t, objects: ['1.0', object] }), code('EINVAL'));
  }
  for (const target of ['..', '../..', 'a/b', '.']) {
    await assert.rejects(client.createTarget(target, MiB), code('EINVAL'));
    await assert.rejects(client.destroyTarget(target), code('EINVAL'));
    await assert.rejects(
      client.write({ target, object: '1.0', offset: 0 }, Buffer.from('x')),
      code('EINVAL'),
    );
  }
  assert.deepEqual(await fs.readdir(dir), before);
  await assert.rejects(client.statfs('nosuch-OST0000'), code('ENODEV'));
  await assert.rejects(
    client.read({ target: 'nosuch', object: '1.0', offset: 0, length: 1 }),
    code('ENODEV'),
  );
});

test('hostile frames and arguments get errors or a closed connection; the server keeps serving', async () => {
  const port = Number(oss.address.split(':')[1]);
  const raw = async (bytes: Buffer[]) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.resume();
    const closed = new Promise((resolve) => s.on('close', resolve));
    for (const b of bytes) s.write(b);
    s.end();
    await closed;
  };
  await raw([Buffer.from([0xff, 0xff, 0xff, 0xff, 9, 9, 9])]);
  await raw([Buffer.from([0, 0, 0, 20, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff])]);
  await raw(encodeFrame(1, 1, { m: 'write', a: 'not an object' }, Buffer.alloc(10)));
  await raw([Buffer.from([0, 0, 0, 12, 1, 0, 0, 0, 1, 0, 0, 0, 3, 0x7b, 0x7b, 0x7b])]);
  const rpc = new RpcClient({ address: oss.address });
  try {
    const t = await newTarget();
    const bad: [string, unknown, string][] = [
      ['read', { target: t, object: '1.0', offset: 0, length: 1e12 }, 'EINVAL'],
      ['read', { target: t, object: '1.0', offset: -1, length: 1 }, 'EINVAL'],
      ['read', { target: t, object: '1.0', offset: 0.5, length: 1 }, 'EINVAL'],
      ['write', { target: t, object: '1.0', offset: 2 ** 50 }, 'EFBIG'],
      ['write', [1, 2], 'EINVAL'],
      ['write', null, 'EINVAL'],
      ['punch', { target: t, object: '1.0', size: '9' }, 'EINVAL'],
      ['destroy', { target: t, objects: 'x' }, 'EINVAL'],
      ['destroy', { target: t, objects: new Array(20_000).fill('1.0') }, 'EINVAL'],
      ['createTarget', { target: 'x', capacityBytes: -5 }, 'EINVAL'],
      ['rangeChecksum', { target: t, object: '1.0', offset: 0, length: 6 * 1024 ** 3 }, 'EINVAL'],
      [
        'uploadRange',
        {
          target: t,
          object: '1.0',
          offset: 0,
          length: 10,
          timeoutMs: 1000,
          dest: { url: 'file:///etc/passwd', headers: { 'content-length': '10' } },
        },
        'EINVAL',
      ],
      [
        'uploadRange',
        {
          target: t,
          object: '1.0',
          offset: 0,
          length: 10,
          timeoutMs: 1000,
          dest: { url: 'http://127.0.0.1:1/x', headers: { 'content-length': '99' } },
        },
        'EINVAL',
      ],
      ['nosuchmethod', {}, 'UnknownMethod'],
    ];
    for (const [m, a, c] of bad) {
      await assert.rejects(
        rpc.call(m, a, { payload: Buffer.from('zz') }),
        code(c),
        `${m} ${JSON.stringify(a)}`,
      );
    }
  } finally {
    rpc.close();
  }
  const t = await newTarget();
  await client.write({ target: t, object: '1.0', offset: 0 }, Buffer.from('alive'));
  assert.equal((await client.read({ target: t, object: '1.0', offset: 0, length: 5 })).toString(), 'alive');
});

test('a write recreates an object directory that was removed behind the server', async () => {
  const t = await newTarget();
  await fs.rm(objectDir(path.join(dir, 'data', t), '21.0'), { recursive: true });
  assert.equal((await client.read({ target: t, object: '21.0', offset: 0, length: 1 })).length, 0);
  await client.write({ target: t, object: '21.0', offset: 0, sync: true }, Buffer.from('back'));
  assert.equal((await client.read({ target: t, object: '21.0', offset: 0, length: 9 })).toString(), 'back');
});

test('the unix socket serves the same targets as TCP', async () => {
  assert.equal(oss.localAddress, `unix:${path.join(dir, 'oss.sock')}`);
  const local = new OssClient({ address: oss.address, localAddress: oss.localAddress });
  try {
    assert.ok(local.address.startsWith('unix:'));
    const t = await newTarget();
    const data = randomBytes(MiB);
    await local.write({ target: t, object: '3.2', offset: 0 }, data);
    assert.deepEqual(await client.read({ target: t, object: '3.2', offset: 0, length: MiB }), data);
    assert.deepEqual(await local.read({ target: t, object: '3.2', offset: 0, length: MiB }), data);
  } finally {
    local.close();
  }
});

test('targets: create is idempotent, other capacity is EEXIST, destroy removes data and is idempotent', async () => {
  const t = await newTarget(5 * MiB);
  await client.createTarget(t, 5 * MiB);
  await assert.rejects(client.createTarget(t, 6 * MiB), (e) => e instanceof FsError && e.code === 'EEXIST');
  await client.write({ target: t, object: '1.0', offset: 0 }, Buffer.from('x'));
  await client.destroyTarget(t);
  await client.destroyTarget(t);
  await assert.rejects(client.statfs(t), code('ENODEV'));
  assert.ok(!(await fs.readdir(path.join(dir, 'data'))).includes(t));
  await client.createTarget(t, 5 * MiB);
  assert.equal((await client.read({ target: t, object: '1.0', offset: 0, length: 1 })).length, 0);
});

test('targets and space accounting survive a restart of the server', async () => {
  const data = path.join(dir, 'restart');
  const start = () =>
    startOss({ dataDir: data, name: 'r', host: 'h', listen: { host: '127.0.0.1', port: 0 } });
  let s = await start();
  let c = new OssClient({ address: s.address });
  await c.createTarget('r-OST0000', 8 * MiB);
  const bytes = randomBytes(3 * MiB + 17);
  await c.write({ target: 'r-OST0000', object: '12.3', offset: 0 }, bytes);
  await c.punch({ target: 'r-OST0000', object: '13.0', size: MiB });
  const before = await c.statfs('r-OST0000');
  c.close();
  await s.close();
  s = await start();
  c = new OssClient({ address: s.address });
  try {
    assert.deepEqual(await c.statfs('r-OST0000'), before);
    assert.deepEqual(
      await c.read({ target: 'r-OST0000', object: '12.3', offset: 0, length: 4 * MiB }),
      bytes,
    );
  } finally {
    c.close();
    await s.close();
  }
});
