import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { ValidationError } from './errors.ts';
import { parseListenAddress, startOpsServer } from './ops-server.ts';

test('listen addresses parse as host:port, :port or port', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseListenAddress(':9090'), { host: '0.0.0.0', port: 9090 });
  assert.deepEqual(parseListenAddress('[::1]:0'), { host: '::1', port: 0 });
  assert.throws(() => parseListenAddress('localhost'), ValidationError);
  assert.throws(() => parseListenAddress('1.2.3.4:70000'), ValidationError);
});

test('/readyz says why it is not ready; /healthz and /metrics answer', async (t) => {
  let why: string | undefined = 'caches are not synced yet';
  const registry = new Registry();
  const server = await startOpsServer('127.0.0.1:0', registry, { notReady: () => why });
  t.after(() => server.close());
  const get = (path: string) => fetch(`http://${server.address}${path}`);
  const notReady = await get('/readyz');
  assert.equal(notReady.status, 503);
  assert.match(await notReady.text(), /caches are not synced yet/);
  why = undefined;
  assert.equal((await get('/readyz')).status, 200);
  assert.equal((await get('/healthz')).status, 200);
  assert.equal((await get('/metrics')).status, 200);
  assert.equal((await get('/nope')).status, 404);
});
