// The OSS's lean HTTP GET against a raw TCP server that writes exact bytes: framing split at every byte, keep-alive and stale connections, limits, pauses, aborts.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { type GetResponse, httpGet } from './http-get.ts';

/** What the server answers to the next request on any connection: whole bytes, or two parts written apart. */
let answer: (req: string) => Buffer[] = () => [];
let connections = 0;
const sockets = new Set<net.Socket>();
let server: net.Server;
let base: string;
before(async () => {
  server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.setNoDelay(true);
    s.on('close', () => sockets.delete(s));
    let req = '';
    s.on('data', (d) => {
      req += d.toString('latin1');
      while (req.includes('\r\n\r\n')) {
        const one = req.slice(0, req.indexOf('\r\n\r\n') + 4);
        req = req.slice(one.length);
        const parts = answer(one);
        const next = (i: number) => {
          if (i >= parts.length || s.destroyed) return;
          const p = parts[i]!;
          if (p.length === 0) s.end();
          else s.write(p, () => setImmediate(() => next(i + 1)));
        };
        next(0);
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
after(() => {
  for (const s of sockets) s.destroy();
  server.close();
});

const signal = AbortSignal.timeout(60_000);
const body = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) % 256));

async function readAll(res: GetResponse, limit?: number): Promise<{ data: Buffer; complete: boolean }> {
  const parts: Buffer[] = [];
  const complete = await res.body((v) => {
    parts.push(Buffer.from(v));
    return undefined;
  }, limit);
  return { data: Buffer.concat(parts), complete };
}

const split = (bytes: Buffer, at: number) => [bytes.subarray(0, at), bytes.subarray(at)];

test('a content-length body split at every byte arrives whole, and the connection is reused', async () => {
  const wire = Buffer.concat([
    Buffer.from(
      `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-299/1000\r\nContent-Length: 300\r\n\r\n`,
    ),
    body,
  ]);
  const before = connections;
  for (let at = 1; at < wire.length; at += at < 120 ? 1 : 17) {
    answer = () => split(wire, at);
    const res = await httpGet(new URL(`${base}/o`), { range: 'bytes=0-299' }, signal);
    assert.equal(res.status, 206);
    assert.equal(res.headers['content-range'], 'bytes 0-299/1000');
    const { data, complete } = await readAll(res);
    assert.ok(complete, `split at ${at}`);
    assert.ok(data.equals(body), `split at ${at}`);
  }
  assert.equal(connections - before, 1, 'one kept-alive connection for every GET');
});

test('a chunked body (extensions, trailer) split at every byte arrives whole', async () => {
  const wire = Buffer.concat([
    Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
    Buffer.from('64;ext=1\r\n'),
    body.subarray(0, 100),
    Buffer.from('\r\nC8\r\n'),
    body.subarray(100),
    Buffer.from('\r\n0\r\nx-trailer: 1\r\n\r\n'),
  ]);
  for (let at = 1; at < wire.length; at++) {
    answer = () => split(wire, at);
    const { data, complete } = await readAll(await httpGet(new URL(`${base}/c`), {}, signal));
    assert.ok(complete && data.equals(body), `split at ${at}`);
  }
});

test('a body framed by the close of the connection; a body cut short is not complete', async () => {
  answer = () => [Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n'), body, Buffer.alloc(0)];
  const r = await readAll(await httpGet(new URL(`${base}/x`), {}, signal));
  assert.ok(r.complete && r.data.equals(body));
  answer = () => [Buffer.from('HTTP/1.1 206 OK\r\nContent-Length: 600\r\n\r\n'), body, Buffer.alloc(0)];
  await assert.rejects(readAll(await httpGet(new URL(`${base}/x`), {}, signal)), /closed/);
  answer = () => [Buffer.from('HTTP/1.1 206 OK\r\nContent-Length: 3\r\n\r\n'), body];
  await assert.rejects(readAll(await httpGet(new URL(`${base}/x`), {}, signal)), /more than/);
});

test('an idle connection the server closed is replaced before the next GET', async () => {
  const ok = () => [Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n'), body])];
  answer = ok;
  assert.ok((await readAll(await httpGet(new URL(`${base}/a`), {}, signal))).complete);
  for (const s of sockets) s.destroy(); // the server ends its kept-alive connections
  const before = connections;
  const { data, complete } = await readAll(await httpGet(new URL(`${base}/a`), {}, signal));
  assert.ok(complete && data.equals(body));
  assert.equal(connections - before, 1);
});

test('a limit stops the body early; a slow sink pauses the connection without losing bytes', async () => {
  const big = Buffer.from(Array.from({ length: 4 * 1024 * 1024 }, (_, i) => i % 253));
  answer = () => [
    Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\n\r\n`), big]),
  ];
  const cut = await readAll(await httpGet(new URL(`${base}/b`), {}, signal), 1000);
  assert.ok(!cut.complete && cut.data.equals(big.subarray(0, 1000)));
  const parts: Buffer[] = [];
  let waits = 0;
  const res = await httpGet(new URL(`${base}/b`), {}, signal);
  const complete = await res.body((v) => {
    parts.push(Buffer.from(v));
    if (parts.length % 4 !== 0) return undefined;
    waits++;
    return new Promise((resolve) => setImmediate(resolve));
  });
  assert.ok(complete && Buffer.concat(parts).equals(big), `${waits} waits`);
  const failing = await httpGet(new URL(`${base}/b`), {}, signal);
  await assert.rejects(
    failing.body(() => Promise.reject(new Error('disk full'))),
    /disk full/,
  );
});

test('an abort ends the GET with its reason, before and during the body', async () => {
  answer = () => [Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'), Buffer.from('12345')];
  const stop = new AbortController();
  const res = await httpGet(new URL(`${base}/s`), {}, stop.signal);
  const reading = readAll(res);
  stop.abort(new Error('deadline'));
  await assert.rejects(reading, /deadline/);
  answer = () => [];
  const stop2 = new AbortController();
  const pending = httpGet(new URL(`${base}/n`), {}, stop2.signal);
  stop2.abort(new Error('deadline 2'));
  await assert.rejects(pending, /deadline 2/);
  answer = () => [Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')];
  assert.ok((await readAll(await httpGet(new URL(`${base}/z`), {}, signal))).complete);
});
