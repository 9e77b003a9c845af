import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Child, startChild } from '../../lib/supervisor.ts';
import { OssClient } from '../protocol/oss-client.ts';

const MiB = 1 << 20;
const main = path.join(import.meta.dirname, '../../../test/lustre/oss-process.ts');
let dir: string;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nacre-oss-crash-'));
});
after(() => fs.rm(dir, { recursive: true, force: true }));

function startOssChild(): Promise<Child> {
  const opts = {
    dataDir: path.join(dir, 'data'),
    name: 'oss-crash',
    host: 'h',
    listen: { host: '127.0.0.1', port: 0 },
    unixSocket: path.join(dir, 'oss.sock'),
  };
  return startChild({
    name: 'oss',
    command: process.execPath,
    args: [main, JSON.stringify(opts)],
    logFile: path.join(dir, 'oss.log'),
    timeoutMs: 20_000,
  });
}

test('every write acknowledged before a kill -9 of the OSS is there after it restarts', async () => {
  let child = await startOssChild();
  let client = new OssClient({ address: child.ready.address, timeoutMs: 10_000 });
  await client.createTarget('c-OST0000', 256 * MiB);
  await client.punch({ target: 'c-OST0000', object: '100.0', size: 12345 });
  const data = Array.from({ length: 24 }, () => randomBytes(MiB));
  const acked = new Set<number>();
  const killed = Promise.withResolvers<void>();
  const writes = data.map((d, i) =>
    client.write({ target: 'c-OST0000', object: `${i + 1}.0`, offset: 0 }, d).then(() => {
      acked.add(i);
      if (acked.size === 8) {
        child.process.kill('SIGKILL');
        killed.resolve();
      }
    }),
  );
  await killed.promise;
  await Promise.allSettled(writes);
  assert.equal(await child.exited, 'SIGKILL');
  const survivors = new Set(acked);
  assert.ok(survivors.size >= 8);
  client.close();
  await child.stop();

  child = await startOssChild();
  client = new OssClient({ address: child.ready.address, localAddress: String(child.ready['localAddress']) });
  try {
    for (const i of survivors) {
      const got = await client.read({ target: 'c-OST0000', object: `${i + 1}.0`, offset: 0, length: MiB });
      assert.ok(got.equals(data[i]!), `object ${i + 1}.0 lost its acknowledged data`);
    }
    assert.deepEqual(await client.getattr({ target: 'c-OST0000', object: '100.0' }), {
      size: 12345,
      blocks: 0,
    });
    const s = await client.statfs('c-OST0000');
    assert.ok(s.usedBytes >= survivors.size * MiB, `used ${s.usedBytes} after restart`);
  } finally {
    client.close();
    await child.stop();
  }
});
