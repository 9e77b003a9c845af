import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import net from 'node:net';
import { after, before, test } from 'node:test';
import type { Logger } from '../../lib/log.ts';
import { waitFor } from '../../lib/wait-for.ts';
import { encodeFrame, type Frame, FrameDecoder } from './frame.ts';
import { AUTH_HELLO, AUTH_PROVE } from './handshake.ts';
import { LOGGED_PER_INTERVAL, RejectionLog, type RejectionReason } from './rejections.ts';
import { RpcClient } from './rpc-client.ts';
import { observeRpcServers, Reply, RpcServer } from './rpc-server.ts';

const KEY = Buffer.from('k'.repeat(64));
const OTHER = Buffer.from('o'.repeat(64));

let keyed: RpcServer;
let keyedAddress: string;
let open: RpcServer;
let openAddress: string;
let reads = 0;
const rejected: RejectionReason[] = [];
let stopObserving: () => void;

before(async () => {
  stopObserving = observeRpcServers({
    call() {},
    connection() {},
    rejected: (_server, reason) => rejected.push(reason),
  });
  keyed = new RpcServer('oss', { security: { key: KEY } });
  keyed.handle('read', async () => {
    reads++;
    return new Reply(null, Buffer.from('secret'));
  });
  keyedAddress = await keyed.listen({ host: '127.0.0.1', port: 0 });
  open = new RpcServer('oss', { security: {} });
  open.handle('read', async () => new Reply(null, Buffer.from('open')));
  openAddress = await open.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  stopObserving();
  await keyed.close();
  await open.close();
});

test('a client holding the key calls through; the server saw nothing refused', async () => {
  const c = new RpcClient({ address: keyedAddress, security: { key: KEY } });
  const before = rejected.length;
  const r = await c.call('read', {});
  assert.equal(r.payload?.toString(), 'secret');
  c.close();
  assert.equal(rejected.length, before);
});

test('a client with another key fails fast with AuthenticationFailed saying the key does not match', async () => {
  const c = new RpcClient({ address: keyedAddress, security: { key: OTHER } });
  const started = Date.now();
  await assert.rejects(c.call('read', {}), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'AuthenticationFailed');
    assert.match(e.message, /key file does not match/);
    return true;
  });
  assert.ok(Date.now() - started < 2_000);
  c.close();
});

test('a client without a key is refused before any handler runs, and the refusal is counted', async () => {
  const before = reads;
  const count = rejected.filter((r) => r === 'unauthenticated').length;
  const c = new RpcClient({ address: keyedAddress, security: {} });
  await assert.rejects(c.call('read', { ost: 0 }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'Unauthenticated');
    assert.match(e.message, /--data-plane-key-file/);
    return true;
  });
  c.close();
  assert.equal(reads, before);
  await waitFor('the refusal counted', () => rejected.filter((r) => r === 'unauthenticated').length > count);
});

test('a keyed client refuses a server that cannot prove the key (started without one)', async () => {
  const c = new RpcClient({ address: openAddress, security: { key: KEY } });
  await assert.rejects(c.call('read', {}), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'AuthenticationFailed');
    assert.match(e.message, /without --data-plane-key-file/);
    return true;
  });
  c.close();
});

test('a server without a key still serves clients without one (backwards compatible)', async () => {
  const c = new RpcClient({ address: openAddress, security: {} });
  assert.equal((await c.call('read', {})).payload?.toString(), 'open');
  c.close();
});

/** A raw connection: sends frames, collects replies, resolves `closed` when the server hangs up. */
function raw(address: string) {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.split(':').pop())];
  const s = net.connect({ host, port });
  const frames: Frame[] = [];
  const d = new FrameDecoder();
  s.on('data', (c: Buffer) => frames.push(...d.push(c)));
  s.on('error', () => {});
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  return { s, frames, closed };
}

test('garbage on the socket drops the connection and counts a malformed frame', async () => {
  const count = rejected.filter((r) => r === 'malformed').length;
  const { s, closed } = raw(keyedAddress);
  s.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  await closed;
  await waitFor(
    'the malformed frame counted',
    () => rejected.filter((r) => r === 'malformed').length > count,
  );
});

test('a forged proof (HMAC with another key) is refused, counted, and the READ after it never runs', async () => {
  const before = reads;
  const count = rejected.filter((r) => r === 'auth-failed').length;
  const { s, frames, closed } = raw(keyedAddress);
  const cn = Buffer.alloc(32, 1);
  s.write(Buffer.concat(encodeFrame(1, 1, { m: AUTH_HELLO, a: { v: 1, cn: cn.toString('base64') } })));
  await waitFor('the hello reply', () => frames.length === 1);
  const hello = (frames[0]!.header as { r: { sn: string } }).r;
  const forged = createHmac('sha256', OTHER)
    .update('nacre-data-plane-v1\u0000client\u0000oss\u0000')
    .update(cn)
    .update(Buffer.from(hello.sn, 'base64'))
    .digest('base64');
  s.write(
    Buffer.concat([
      ...encodeFrame(1, 2, { m: AUTH_PROVE, a: { proof: forged } }),
      ...encodeFrame(1, 3, { m: 'read', a: { ost: 0, object: '0x1' } }),
    ]),
  );
  await closed;
  assert.equal(frames.length, 2);
  assert.equal(frames[1]!.kind, 3);
  assert.equal((frames[1]!.header as { e: string }).e, 'AuthenticationFailed');
  assert.equal(reads, before);
  await waitFor('the failure counted', () => rejected.filter((r) => r === 'auth-failed').length > count);
});

test('rejections are logged up to the limit per interval, then once as a summary', async () => {
  const lines: { message: string; meta: Record<string, unknown> }[] = [];
  const log = { warn: (message: string, meta: Record<string, unknown>) => lines.push({ message, meta }) };
  const r = new RejectionLog(log as unknown as Logger, 50);
  for (let i = 0; i < 100; i++) r.record('auth-failed', `10.0.0.${i}:1`, 'wrong key');
  r.record('malformed', '10.0.0.1:1', 'bad frame length');
  assert.equal(lines.length, LOGGED_PER_INTERVAL + 1);
  await waitFor('the summary', () => lines.length === LOGGED_PER_INTERVAL + 2);
  assert.equal(lines.at(-1)!.meta['count'], 100 - LOGGED_PER_INTERVAL);
  r.close();
});
