// readMany on a real OSS: many ranges of one target in one call, each as `read` answers it; bad ranges refused whole.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { READ_MANY_MAX } from '../protocol/oss-batch-messages.ts';
import { OssClient } from '../protocol/oss-client.ts';
import { MAX_OBJECT_END, MAX_READ, type OssServer, startOss } from './oss-server.ts';

let dir: string;
let oss: OssServer;
let client: OssClient;
const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nacre-oss-read-many-'));
  oss = await startOss({
    dataDir: path.join(dir, 'data'),
    name: 'oss-rm',
    host: 'h',
    listen: { host: '127.0.0.1', port: 0 },
  });
  client = new OssClient({ address: oss.address });
  await client.createTarget('t-OST0000', 64 << 20);
});
after(async () => {
  client.close();
  await oss.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('readMany answers each range as read does: whole, short at the object end, empty for a missing object', async () => {
  const target = 't-OST0000';
  const objects = Array.from({ length: 5 }, (_, i) => randomBytes(3000 + i * 1111));
  for (const [i, d] of objects.entries()) await client.write({ target, object: `${i + 10}.0`, offset: 0 }, d);
  const reads = [
    { object: '10.0', offset: 0, length: 3000 },
    { object: '11.0', offset: 100, length: 9000 },
    { object: '99.0', offset: 0, length: 4096 },
    { object: '14.0', offset: 7000, length: 10 },
    { object: '12.0', offset: 6000, length: 5 },
  ];
  const got = await client.readMany({ target, reads });
  assert.equal(got.length, reads.length);
  for (const [i, r] of reads.entries())
    assert.ok(got[i]!.equals(await client.read({ target, ...r })), `range ${i} as read gives it`);
  assert.ok(got[0]!.equals(objects[0]!));
  assert.equal(got[1]!.length, 4111 - 100, 'short at the end');
  assert.equal(got[2]!.length, 0, 'missing object');
  assert.equal(got[4]!.length, 0, 'past the end');
});

test('readMany refuses the whole call for bad ranges or too much: EINVAL, EFBIG, ENODEV', async () => {
  const target = 't-OST0000';
  const one = { object: '10.0', offset: 0, length: 1 };
  const refused = [
    [[], 'EINVAL'],
    [Array.from({ length: READ_MANY_MAX + 1 }, () => one), 'EINVAL'],
    [[one, { object: '../x', offset: 0, length: 1 }], 'EINVAL'],
    [[{ object: '10.0', offset: -1, length: 1 }], 'EINVAL'],
    [
      [
        { object: '10.0', offset: 0, length: MAX_READ / 2 + 1 },
        { object: '11.0', offset: 0, length: MAX_READ / 2 },
      ],
      'EINVAL',
    ],
    [[{ object: '10.0', offset: MAX_OBJECT_END, length: 1 }], 'EFBIG'],
  ] as const;
  for (const [reads, errno] of refused)
    await assert.rejects(
      client.readMany({ target, reads: reads as never }),
      code(errno),
      JSON.stringify(reads).slice(0, 80),
    );
  await assert.rejects(client.readMany({ target: 't-OST0009', reads: [one] }), code('ENODEV'));
});
