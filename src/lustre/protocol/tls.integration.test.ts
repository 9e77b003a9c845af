// TLS on the data plane with certificates openssl makes (a system package scripts/install-system-deps.sh installs).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeTlsFiles, readTlsFiles } from '../../../test/lustre/tls-files.ts';
import { waitFor } from '../../lib/wait-for.ts';
import type { DataPlaneSecurity } from './handshake.ts';
import type { RejectionReason } from './rejections.ts';
import { RpcClient } from './rpc-client.ts';
import { observeRpcServers, Reply, RpcServer } from './rpc-server.ts';

const KEY = Buffer.from('t'.repeat(64));
let dir: string;
let secure: DataPlaneSecurity;
let stranger: DataPlaneSecurity;
let server: RpcServer;
let onUnix: RpcServer;
let tcp: string;
let unix: string;
const rejected: RejectionReason[] = [];
let stopObserving: () => void;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-tls-'));
  secure = { key: KEY, tls: await readTlsFiles(await makeTlsFiles(dir, 'ours')) };
  stranger = { key: KEY, tls: await readTlsFiles(await makeTlsFiles(dir, 'theirs')) };
  stopObserving = observeRpcServers({ call() {}, connection() {}, rejected: (_s, r) => rejected.push(r) });
  server = new RpcServer('oss', { security: secure });
  server.handle('echo', async (args, payload) => new Reply(args, payload));
  tcp = await server.listen({ host: '127.0.0.1', port: 0 });
  onUnix = new RpcServer('oss', { security: secure });
  onUnix.handle('echo', async (args, payload) => new Reply(args, payload));
  unix = await onUnix.listen({ path: join(dir, 'oss.sock') });
});
after(async () => {
  stopObserving();
  await server.close();
  await onUnix.close();
  await rm(dir, { recursive: true, force: true });
});

test('a client with a certificate under the CA and the key calls over TLS, on TCP and the unix socket, 1 MiB intact', async () => {
  for (const address of [tcp, unix]) {
    const c = new RpcClient({ address, security: secure });
    const data = randomBytes(1 << 20);
    const r = await c.call('echo', { n: 1 }, { payload: data });
    assert.deepEqual(r.result, { n: 1 });
    assert.ok(r.payload?.equals(data), address);
    c.close();
  }
});

test('a plaintext client is refused with TlsRequired saying which flags to use, and counted', async () => {
  const c = new RpcClient({ address: tcp, security: { key: KEY } });
  await assert.rejects(c.call('echo', {}), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'TlsRequired');
    assert.match(e.message, /TLS connections only.*--tls-cert/);
    return true;
  });
  c.close();
  await waitFor('the plaintext refusal counted', () => rejected.includes('plaintext'));
});

test('a client whose certificate is from another CA fails with TlsFailed, not a retryable error', async () => {
  const c = new RpcClient({ address: tcp, security: stranger });
  await assert.rejects(c.call('echo', {}), { code: 'TlsFailed' });
  c.close();
});

test('a TLS client on a plaintext server fails at once with TlsFailed instead of retrying', async () => {
  const plain = new RpcServer('oss', { security: { key: KEY } });
  plain.handle('echo', async (args) => args);
  const address = await plain.listen({ host: '127.0.0.1', port: 0 });
  const c = new RpcClient({ address, security: secure });
  const started = Date.now();
  await assert.rejects(c.call('echo', {}), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'TlsFailed');
    assert.match(e.message, /--tls-\*/);
    return true;
  });
  assert.ok(Date.now() - started < 2_000);
  c.close();
  await plain.close();
});
