// OstPool against a real OSS: a unix socket this client cannot open falls back to TCP; a server that is down stays unreachable.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type OssServer, startOss } from '../oss/oss-server.ts';
import type { TargetConfig } from '../protocol/mgs-messages.ts';
import { OssClient } from '../protocol/oss-client.ts';
import { isUnreachable, OstPool } from './ost-pool.ts';

const MiB = 1 << 20;
let dir: string;
let oss: OssServer;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nacre-ost-pool-'));
  oss = await startOss({
    dataDir: path.join(dir, 'data'),
    name: 'oss-node-a',
    host: 'node-a',
    listen: { host: '127.0.0.1', port: 0 },
    unixSocket: path.join(dir, 'oss.sock'),
  });
  const admin = new OssClient({ address: oss.address });
  try {
    await admin.createTarget('p-OST0000', 64 * MiB);
  } finally {
    admin.close();
  }
});

after(async () => {
  await oss.close();
  await fs.rm(dir, { recursive: true, force: true });
});

function target(localAddress: string): TargetConfig {
  return {
    target: 'p-OST0000',
    index: 0,
    server: 'oss-node-a',
    address: oss.address,
    localAddress,
    host: 'node-a',
    capacityBytes: 64 * MiB,
  };
}

test('a client on the OSS host whose container lacks the unix socket reads and writes over TCP', async () => {
  // As the FSx API container on a node that runs OSTs: same node name, no socket directory.
  const pool = new OstPool({
    osts: [target(`unix:${path.join(dir, 'not-here', 'oss.sock')}`)],
    host: 'node-a',
  });
  try {
    const data = randomBytes(MiB);
    await pool.write(0, '7.0', 0, data, AbortSignal.timeout(10_000));
    assert.deepEqual(await pool.read(0, '7.0', 0, MiB, AbortSignal.timeout(10_000)), data);
    assert.equal(await pool.objectSize(0, '7.0', AbortSignal.timeout(10_000)), MiB);
  } finally {
    pool.close();
  }
});

test('a client on the OSS host uses the unix socket when it is there', async () => {
  const local = oss.localAddress;
  assert.ok(local);
  assert.ok(local.startsWith('unix:'));
  const pool = new OstPool({ osts: [target(local)], host: 'node-a' });
  try {
    await pool.write(0, '8.0', 0, Buffer.from('local'), AbortSignal.timeout(10_000));
    assert.equal((await pool.read(0, '8.0', 0, 5, AbortSignal.timeout(10_000))).toString(), 'local');
  } finally {
    pool.close();
  }
});

test('no socket here and no server on TCP: the call fails as unreachable, promptly', async () => {
  const down: TargetConfig = {
    ...target(`unix:${path.join(dir, 'not-here', 'oss.sock')}`),
    address: '127.0.0.1:1',
  };
  const pool = new OstPool({ osts: [down], host: 'node-a' });
  try {
    await assert.rejects(pool.read(0, '7.0', 0, 10, AbortSignal.timeout(10_000)), (err: unknown) => {
      assert.ok(isUnreachable(err), String(err));
      assert.match(String(err), /127\.0\.0\.1:1/);
      return true;
    });
  } finally {
    pool.close();
  }
});
