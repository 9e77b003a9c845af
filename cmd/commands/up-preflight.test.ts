// What nacre up says before starting when a port it needs is taken, and that a dead mount check leaves a plain directory alone.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkPortsFree, clearDeadMount } from './up-preflight.ts';

test('a port in use is named with the process that holds it', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    await assert.rejects(
      checkPortsFree([{ port, what: 'MDS' }], AbortSignal.timeout(10_000)),
      (err: Error) =>
        err.message.includes(`port ${port} (for the MDS) is in use`) &&
        err.message.includes(`pid=${process.pid}`) &&
        err.message.includes('pass another --port'),
    );
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  await checkPortsFree([{ port, what: 'MDS' }], AbortSignal.timeout(10_000));
});

test('a directory that is not a mount point is left as it is', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-preflight-'));
  try {
    await clearDeadMount(dir, AbortSignal.timeout(10_000));
  } finally {
    await rm(dir, { recursive: true });
  }
});
