// The OSS-side upload against a local HTTP server standing in for S3: the bytes sent (zeros past the object's end), S3's answers as outcomes, bad arguments refused.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { FsError } from '../../lib/errors.ts';
import { rangeCrc32, uploadArgs, uploadFrom } from './upload-range.ts';

/** What the server received per path. */
const received = new Map<string, Buffer>();
let server: http.Server;
let base: string;
before(async () => {
  server = http.createServer((req, res) => {
    const path = req.url ?? '';
    if (path.startsWith('/refuse')) {
      // Answers before reading the body, as S3 does for a bad signature.
      res
        .writeHead(403, { connection: 'close' })
        .end(
          '<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error>',
        );
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.set(path, Buffer.concat(chunks));
      if (path.startsWith('/busy'))
        res
          .writeHead(503)
          .end('<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      else if (path.startsWith('/digest'))
        res
          .writeHead(400)
          .end(
            '<Error><Code>BadDigest</Code><Message>The CRC32 you specified did not match</Message></Error>',
          );
      else res.writeHead(200, { etag: '"abc"' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** An object of `size` bytes read as the OST reads it: fewer bytes at its end. */
function object(size: number) {
  const data = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7) % 251));
  const read = async (offset: number, buf: Buffer) => {
    const n = Math.max(0, Math.min(buf.length, size - offset));
    data.copy(buf, 0, offset, offset + n);
    return n;
  };
  return { data, read };
}
const dest = (path: string, length: number) => ({
  url: `${base}${path}`,
  headers: { 'content-length': String(length), 'x-amz-checksum-crc32': 'AAAAAA==' },
});
const signal = AbortSignal.timeout(30_000);
const crcOf = (b: Buffer) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(b));
  return out.toString('base64');
};

test('a range of an object goes whole, in order, with zeros past its end, and the ETag comes back', async () => {
  const o = object(5 * 1024 * 1024 + 3);
  const [offset, length] = [1000, 5 * 1024 * 1024 + 100];
  const expected = Buffer.concat([o.data.subarray(offset), Buffer.alloc(offset + length - o.data.length)]);
  assert.equal(expected.length, length);
  assert.deepEqual(await uploadFrom(o.read, offset, length, dest('/ok', length), 10_000, signal), {
    etag: '"abc"',
  });
  assert.ok(received.get('/ok')!.equals(expected));
  assert.equal(await rangeCrc32(o.read, offset, length), crcOf(expected), 'the CRC-32 of the bytes sent');
});

test("S3's refusals and outages are outcomes with their kind, not errors", async () => {
  const o = object(8 * 1024 * 1024);
  const length = 8 * 1024 * 1024;
  const refused = await uploadFrom(o.read, 0, length, dest('/refuse', length), 10_000, signal);
  assert.ok('failed' in refused && refused.failed.kind === 'InvalidCredentials', JSON.stringify(refused));
  const busy = await uploadFrom(o.read, 0, 10, dest('/busy', 10), 10_000, signal);
  assert.ok('failed' in busy && busy.failed.kind === 'Unavailable' && busy.failed.status === 503);
  const digest = await uploadFrom(o.read, 0, 10, dest('/digest', 10), 10_000, signal);
  assert.ok('failed' in digest && digest.failed.kind === 'Changed' && digest.failed.status === 400);
  const closed = { ...dest('/x', 10), url: 'http://127.0.0.1:1/x' };
  const down = await uploadFrom(o.read, 0, 10, closed, 10_000, signal);
  assert.ok('failed' in down && down.failed.kind === 'Unavailable', JSON.stringify(down));
});

test("the OST's own read failure is the OSS's errno", async () => {
  const failing = async () => {
    throw new FsError('EIO', 'disk');
  };
  await assert.rejects(
    uploadFrom(failing, 0, 10, dest('/eio', 10), 10_000, signal),
    (e) => e instanceof FsError && e.code === 'EIO',
  );
});

test('bad arguments are EINVAL naming the field', () => {
  const good = { offset: 0, length: 10, timeoutMs: 1000, dest: dest('/a', 10) };
  assert.equal(uploadArgs(good).length, 10);
  for (const change of [
    { length: 0 },
    { length: 6 * 1024 ** 3 },
    { timeoutMs: 3_600_000 },
    { dest: dest('/a', 11) },
    { dest: { url: 'file:///etc/passwd', headers: { 'content-length': '10' } } },
    { dest: { url: `${base}/a`, headers: { 'content-length': '10', host: 'elsewhere' } } },
  ])
    assert.throws(
      () => uploadArgs({ ...good, ...change }),
      (e) => e instanceof FsError && e.code === 'EINVAL',
    );
});
