import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
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

/** The value of one sample line of a Prometheus text exposition, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([k, v]) => body.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

test('an OSS reports calls, bytes and latency per OST, free space per OST and its clients', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-metrics-'));
  const metrics = createServerMetrics('oss', 'oss-a');
  const oss = await startOss({
    dataDir: join(dir, 'data'),
    name: 'oss-a',
    host: 'node-a',
    listen: { host: '127.0.0.1', port: 0 },
    unixSocket: join(dir, 'oss.sock'),
  });
  metrics.watchOsts(() => oss.statTargets());
  const tcp = new OssClient({ address: oss.address });
  t.after(async () => {
    tcp.close();
    await oss.close();
    metrics.close();
    await rm(dir, { recursive: true, force: true });
  });
  await tcp.createTarget('m-OST0000', 64 * MiB);
  await tcp.write({ target: 'm-OST0000', object: '1.0', offset: 0 }, randomBytes(MiB));
  await tcp.read({ target: 'm-OST0000', object: '1.0', offset: 0, length: MiB });
  const local = new RpcClient({ address: oss.localAddress ?? '' });
  await local.call('statfs', { target: 'm-OST0000' });
  await assert.rejects(local.call('nosuchmethod', { target: 'x' }));

  const text = await metrics.registry.metrics();
  const ost = { service: 'oss', target: 'm-OST0000' };
  assert.equal(sample(text, 'nacre_rpc_calls_total', { ...ost, method: 'write', outcome: 'ok' }), 1);
  assert.equal(sample(text, 'nacre_rpc_bytes_total', { ...ost, method: 'write', direction: 'in' }), MiB);
  assert.equal(sample(text, 'nacre_rpc_bytes_total', { ...ost, method: 'read', direction: 'out' }), MiB);
  assert.equal(sample(text, 'nacre_rpc_duration_seconds_count', { ...ost, method: 'read' }), 1);
  // A method the server does not know is counted without naming it (no label from the network).
  assert.equal(sample(text, 'nacre_rpc_calls_total', { method: 'unknown', outcome: 'UnknownMethod' }), 1);
  assert.doesNotMatch(text, /nosuchmethod/);
  assert.equal(sample(text, 'nacre_rpc_connected_clients', { transport: 'tcp' }), 1);
  assert.equal(sample(text, 'nacre_rpc_connected_clients', { transport: 'unix' }), 1);
  assert.equal(
    sample(text, 'nacre_ost_capacity_bytes', { ost: 'm-OST0000', role: 'oss', server: 'oss-a' }),
    64 * MiB,
  );
  const free = sample(text, 'nacre_ost_free_bytes', { ost: 'm-OST0000' }) ?? Number.NaN;
  assert.ok(free <= 63 * MiB && free > 0, `free bytes ${free} reflect the 1 MiB written`);
  assert.equal(sample(text, 'nacre_ost_objects', { ost: 'm-OST0000' }), 1);

  local.close();
  await tcp.destroyTarget('m-OST0000');
  const after = await metrics.registry.metrics();
  assert.equal(
    sample(after, 'nacre_ost_free_bytes', { ost: 'm-OST0000' }),
    undefined,
    'a destroyed OST is gone',
  );
});

test('FSx API requests are counted by operation and outcome', async () => {
  const metrics = createServerMetrics('api', 'api-a');
  metrics.fsxRequest('CreateFileSystem', 200, 'ok', 0.02);
  metrics.fsxRequest('CreateFileSystem', 400, 'BadRequest', 0.001);
  const text = await metrics.registry.metrics();
  metrics.close();
  assert.equal(
    sample(text, 'nacre_fsx_server_requests_total', { operation: 'CreateFileSystem', outcome: 'ok' }),
    1,
  );
  assert.equal(sample(text, 'nacre_fsx_server_requests_total', { status: '400', outcome: 'BadRequest' }), 1);
  assert.equal(
    sample(text, 'nacre_fsx_server_request_duration_seconds_count', { operation: 'CreateFileSystem' }),
    2,
  );
});

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
