// MdsSession.close() ends everything the session still does: calls retrying without a deadline of their own, and a connection still in its handshake.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { waitFor } from '../../lib/wait-for.ts';
import { MdsSession } from './mds-session.ts';

/** A port nothing listens on (connections refused). */
async function refusedAddress(): Promise<string> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return `127.0.0.1:${port}`;
}

test('a call retrying against an unreachable MDS without a signal of its own ends when the session closes', async () => {
  const session = new MdsSession({
    address: await refusedAddress(),
    clientId: 'c',
    host: 'h',
    retryDeadlineMs: 60_000,
  });
  const call = session.call('getattr', { ino: 1 });
  await waitFor('the call to find the MDS unreachable', async () => session.waiting === 1, 5_000);
  const t0 = performance.now();
  session.close();
  await assert.rejects(call, { code: 'EIO' });
  const ms = performance.now() - t0;
  assert.ok(ms < 1_000, `the call ended ${Math.round(ms)} ms after close()`);
  await assert.rejects(
    session.call('getattr', { ino: 1 }),
    { code: 'EIO' },
    'a closed session takes no calls',
  );
});

test('close() drops a connection still waiting for the MDS to answer its handshake', async () => {
  const sockets: net.Socket[] = [];
  const hung = net.createServer((s) => sockets.push(s.on('error', () => undefined).resume()));
  await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
  try {
    const { port } = hung.address() as net.AddressInfo;
    const session = new MdsSession({
      address: `127.0.0.1:${port}`,
      clientId: 'c',
      host: 'h',
      callTimeoutMs: 30_000,
    });
    await assert.rejects(session.call('getattr', { ino: 1 }, AbortSignal.timeout(200)), { code: 'EINTR' });
    assert.equal(sockets.length, 1, 'connected, the handshake unanswered');
    const closed = new Promise<void>((r) => sockets[0]!.once('close', () => r()));
    session.close();
    const t0 = performance.now();
    await closed;
    assert.ok(performance.now() - t0 < 1_000);
  } finally {
    for (const s of sockets) s.destroy();
    hung.close();
  }
});
