import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { DeadlineExceededError, FsError, UnavailableError } from '../../lib/errors.ts';
import { encodeFrame, FrameDecoder } from './frame.ts';
import { RpcClient } from './rpc-client.ts';
import { Reply, RpcServer } from './rpc-server.ts';

let server: RpcServer;
let address: string;

before(async () => {
  server = new RpcServer('test');
  server.handle('echo', async (args, payload) => new Reply(args, payload));
  server.handle('fail', async () => {
    throw new FsError('ENOENT', 'no such thing');
  });
  server.handle('crash', async () => {
    throw new TypeError('boom');
  });
  server.handle(
    'slow',
    (_a, _p, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', resolve)),
  );
  server.handle('push', async (args, _p, ctx) => {
    ctx.session.push('hello', args);
    return null;
  });
  address = await server.listen({ host: '127.0.0.1', port: 0 });
});
after(() => server.close());

test('frames split at any byte boundary decode to the same frames', () => {
  const payload = Buffer.alloc(70_000, 7);
  const bytes = Buffer.concat([
    ...encodeFrame(1, 42, { m: 'x', a: [1] }, payload),
    ...encodeFrame(2, 43, { r: 'y' }),
  ]);
  for (const step of [1, 3, 4096, bytes.length]) {
    const d = new FrameDecoder();
    const frames = [];
    for (let i = 0; i < bytes.length; i += step) frames.push(...d.push(bytes.subarray(i, i + step)));
    assert.equal(frames.length, 2);
    assert.equal(frames[0]!.id, 42);
    assert.deepEqual(frames[0]!.payload, payload);
    assert.deepEqual(frames[1]!.header, { r: 'y' });
    assert.equal(frames[1]!.payload, undefined);
  }
});

test('a call returns the result and a payload; errors arrive typed', async () => {
  const c = new RpcClient({ address });
  try {
    const big = Buffer.alloc(1 << 20, 1);
    const r = await c.call('echo', { a: 1 }, { payload: big });
    assert.deepEqual(r.result, { a: 1 });
    assert.deepEqual(r.payload, big);
    await assert.rejects(c.call('fail', {}), (e) => e instanceof FsError && e.code === 'ENOENT');
    await assert.rejects(c.call('crash', {}), (e) => e instanceof Error && (e as FsError).code === 'EIO');
    await assert.rejects(c.call('nope', {}), (e) => (e as { code?: string }).code === 'UnknownMethod');
  } finally {
    c.close();
  }
});

test('a call past its deadline rejects and the connection stays usable', async () => {
  const c = new RpcClient({ address });
  try {
    await assert.rejects(c.call('slow', {}, { timeoutMs: 50 }), DeadlineExceededError);
    assert.deepEqual((await c.call('echo', 5)).result, 5);
  } finally {
    c.close();
  }
});

test('server pushes reach the client', async () => {
  const got = Promise.withResolvers<unknown>();
  const c = new RpcClient({ address, onPush: (m, a) => m === 'hello' && got.resolve(a) });
  try {
    await c.call('push', { x: 1 });
    assert.deepEqual(await got.promise, { x: 1 });
  } finally {
    c.close();
  }
});

test('garbage on the wire closes that connection only; the server keeps serving', async () => {
  const s = net.connect(Number(address.split(':')[1]), '127.0.0.1');
  const closed = new Promise((resolve) => s.on('close', resolve));
  s.on('error', () => {});
  s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
  await closed;
  const c = new RpcClient({ address });
  try {
    assert.deepEqual((await c.call('echo', 'still here')).result, 'still here');
  } finally {
    c.close();
  }
});

test('an unreachable server is Unavailable, not a hang', async () => {
  const c = new RpcClient({ address: '127.0.0.1:1', connectTimeoutMs: 500 });
  await assert.rejects(c.call('echo', 1, { timeoutMs: 2000 }), UnavailableError);
  c.close();
});
