// The OSS-side fetch against a local HTTP server standing in for S3: bytes streamed into the object, S3's answers as outcomes, bad arguments refused.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { FsError } from '../../lib/errors.ts';
import { fetchArgs, fetchInto } from './fetch-range.ts';

const body = Buffer.from(Array.from({ length: 3 * 1024 * 1024 + 5 }, (_, i) => i % 251));
/** How the server answers the next GETs: per path. */
let server: http.Server;
let base: string;
before(async () => {
  server = http.createServer((req, res) => {
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (req.url?.startsWith('/changed')) {
      res
        .writeHead(412)
        .end(
          '<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>',
        );
      return;
    }
    if (req.url?.startsWith('/missing')) {
      res
        .writeHead(404)
        .end('<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>');
      return;
    }
    if (req.url?.startsWith('/busy')) {
      res
        .writeHead(503)
        .end('<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      return;
    }
    if (req.url?.startsWith('/whole')) {
      res.writeHead(200, { 'content-length': body.length }).end(body);
      return;
    }
    const [from, to] = [Number(range![1]), Math.min(Number(range![2]), body.length - 1)];
    if (from >= body.length) {
      res.writeHead(416).end();
      return;
    }
    res.writeHead(206, {
      'content-range': `bytes ${from}-${to}/${body.length}`,
      'content-length': to - from + 1,
    });
    if (req.url?.startsWith('/cut')) {
      res.write(body.subarray(from, from + (to - from + 1) / 2));
      setImmediate(() => res.destroy());
      return;
    }
    res.end(body.subarray(from, to + 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** An object in memory: what the OSS wrote where. */
function object() {
  const writes: { at: number; n: number }[] = [];
  const data = Buffer.alloc(body.length + 4096);
  const write = async (at: number, b: Buffer) => {
    writes.push({ at, n: b.length });
    b.copy(data, at);
  };
  return { writes, data, write };
}
const source = (path: string, from: number, length: number) => ({
  url: `${base}${path}`,
  headers: { range: `bytes=${from}-${from + length - 1}` },
});
const signal = AbortSignal.timeout(30_000);

test('a ranged body is written at the object offset as it arrives, in blocks of about 1 MiB', async () => {
  const o = object();
  const length = 2 * 1024 * 1024 + 100;
  const out = await fetchInto(o.write, 4096, length, source('/obj', 1000, length), 10_000, signal);
  assert.deepEqual(out, { fetched: length });
  assert.ok(o.data.subarray(4096, 4096 + length).equals(body.subarray(1000, 1000 + length)));
  assert.ok(o.writes.length >= 2, JSON.stringify(o.writes));
  assert.ok(
    o.writes.every((w) => w.n < 2 * 1024 * 1024),
    JSON.stringify(o.writes),
  );
});

test('fewer bytes at the end of the remote object; none for a range past it', async () => {
  const o = object();
  assert.deepEqual(await fetchInto(o.write, 0, 100, source('/obj', body.length - 10, 100), 10_000, signal), {
    fetched: 10,
  });
  assert.deepEqual(await fetchInto(o.write, 0, 10, source('/obj', body.length + 1, 10), 10_000, signal), {
    fetched: 0,
  });
});

test("the store's answers become outcomes the agent can act on, never the OSS's errors", async () => {
  const kind = async (path: string) => {
    const out = await fetchInto(object().write, 0, 100, source(path, 0, 100), 10_000, signal);
    assert.ok('failed' in out, path);
    return [out.failed.kind, out.failed.message] as const;
  };
  const [changed, message] = await kind('/changed');
  assert.equal(changed, 'Changed');
  assert.match(message, /PreconditionFailed/);
  assert.equal((await kind('/missing'))[0], 'NoSuchKey');
  assert.equal((await kind('/busy'))[0], 'Unavailable');
  assert.equal((await kind('/whole'))[0], 'Unavailable', 'a 200 for a ranged GET is not taken as the range');
  assert.equal((await kind('/cut'))[0], 'Unavailable', 'a body cut short');
  const refused = await fetchInto(
    object().write,
    0,
    10,
    { url: 'http://127.0.0.1:1/x', headers: { range: 'bytes=0-9' } },
    10_000,
    signal,
  );
  assert.ok('failed' in refused && refused.failed.kind === 'Unavailable');
});

test('the OST failing to write is the OSS error it is, not an S3 outcome', async () => {
  const full = async () => {
    throw new FsError('ENOSPC', 'target OST0000 is full');
  };
  await assert.rejects(
    fetchInto(full, 0, 100, source('/obj', 0, 100), 10_000, signal),
    (e) => e instanceof FsError && e.code === 'ENOSPC',
  );
});

test('arguments are checked: an http(s) URL, a few well-formed headers, a range of exactly the length', () => {
  const good = { offset: 0, length: 10, timeoutMs: 1000, source: source('/obj', 0, 10) };
  assert.equal(fetchArgs(good).length, 10);
  const bad = (change: Record<string, unknown>, what: RegExp) =>
    assert.throws(
      () => fetchArgs({ ...good, ...change }),
      (e) => e instanceof FsError && e.code === 'EINVAL' && what.test(e.message),
    );
  bad({ source: { url: 'file:///etc/passwd', headers: { range: 'bytes=0-9' } } }, /http/);
  bad({ source: { url: base, headers: {} } }, /range of exactly 10/);
  bad({ source: { url: base, headers: { range: 'bytes=0-99' } } }, /range of exactly 10/);
  bad({ source: { url: base, headers: { range: 'bytes=0-9', Host: 'x' } } }, /bad header/);
  bad({ source: { url: base, headers: { range: 'bytes=0-9', host: 'x' } } }, /bad header/);
  bad({ timeoutMs: 3_600_000 }, /timeoutMs/);
  bad({ length: 0 }, /length/);
  bad({ source: null }, /source/);
});
