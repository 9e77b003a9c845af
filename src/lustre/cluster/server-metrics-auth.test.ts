import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitFor } from '../../lib/wait-for.ts';
import { startOss } from '../oss/oss-server.ts';
import { configureDataPlane } from '../protocol/handshake.ts';
import { OssClient } from '../protocol/oss-client.ts';
import { RpcClient } from '../protocol/rpc-client.ts';
import { createServerMetrics } from './server-metrics.ts';

const MiB = 1024 * 1024;

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([k, v]) => body.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

test('a keyed OSS serves keyed clients over TCP and its unix socket, and counts what it refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-metrics-auth-'));
  configureDataPlane({ key: Buffer.from('a'.repeat(64)) });
  const metrics = createServerMetrics('oss', 'oss-a');
  const oss = await startOss({
    dataDir: join(dir, 'data'),
    name: 'oss-a',
    host: 'node-a',
    listen: { host: '127.0.0.1', port: 0 },
    unixSocket: join(dir, 'oss.sock'),
  });
  const tcp = new OssClient({ address: oss.address });
  const local = new RpcClient({ address: oss.localAddress ?? '' });
  t.after(async () => {
    tcp.close();
    local.close();
    await oss.close();
    metrics.close();
    configureDataPlane({});
    await rm(dir, { recursive: true, force: true });
  });
  await tcp.createTarget('m-OST0000', 64 * MiB);
  await local.call('statfs', { target: 'm-OST0000' });

  const keyless = new RpcClient({ address: oss.address, security: {} });
  await assert.rejects(keyless.call('statfs', { target: 'm-OST0000' }), { code: 'Unauthenticated' });
  keyless.close();
  const garbage = net.connect(join(dir, 'oss.sock'));
  garbage.on('error', () => {});
  garbage.end(Buffer.alloc(64, 0xff));
  await waitFor('both refusals counted', async () => {
    const text = await metrics.registry.metrics();
    return (
      sample(text, 'nacre_rpc_rejected_total', { reason: 'unauthenticated' }) === 1 &&
      sample(text, 'nacre_rpc_rejected_total', { reason: 'malformed' }) === 1
    );
  });
  const text = await metrics.registry.metrics();
  assert.equal(sample(text, 'nacre_rpc_calls_total', { method: 'statfs', outcome: 'ok' }), 1);
});
