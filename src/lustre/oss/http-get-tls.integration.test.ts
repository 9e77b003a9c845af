// The OSS's lean HTTP GET over TLS, in a child process that trusts a private CA as an OSS pod does (NODE_EXTRA_CA_CERTS): by IP and by name (SNI), and refused without the CA.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { makeTlsFiles, type TlsFilePaths } from '../../../test/lustre/tls-files.ts';

const run = promisify(execFile);
const body = Buffer.from(Array.from({ length: 3 * 1024 * 1024 + 7 }, (_, i) => (i * 13) % 256));
let dir: string;
let files: TlsFilePaths;
let server: https.Server;
let port: number;
let lastServername: string | undefined;
let connections = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-httpget-tls-'));
  files = await makeTlsFiles(dir, 's3');
  server = https.createServer(
    { cert: await readFile(files.cert), key: await readFile(files.key) },
    (req, res) => {
      lastServername = (req.socket as { servername?: string | false }).servername || undefined;
      res.writeHead(206, { 'content-length': body.length, 'content-range': `bytes 0-${body.length - 1}/*` });
      res.end(body);
    },
  );
  server.on('secureConnection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

/** GETs `url` twice in a child process (the second on the kept-alive connection); prints status, length and a digest of the body. */
async function getInChild(url: string, ca?: string): Promise<string> {
  const module = new URL('./http-get.ts', import.meta.url).href;
  const script = `
    import { createHash } from 'node:crypto';
    import { httpGet } from ${JSON.stringify(module)};
    for (let i = 0; i < 2; i++) {
      const res = await httpGet(new URL(${JSON.stringify(url)}), { range: 'bytes=0-' }, AbortSignal.timeout(20000));
      const h = createHash('sha256');
      let n = 0;
      const complete = await res.body((v) => { h.update(v); n += v.length; return undefined; });
      console.log(res.status, n, complete, h.digest('hex'));
    }`;
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: ca ?? '' };
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env,
    timeout: 60_000,
  });
  return stdout.trim();
}

test('a GET over TLS by IP and by name (with SNI) reads the whole body, twice on one connection', async () => {
  const { createHash } = await import('node:crypto');
  const want = `206 ${body.length} true ${createHash('sha256').update(body).digest('hex')}`;
  const before = connections;
  assert.equal(await getInChild(`https://127.0.0.1:${port}/b/k`, files.ca), `${want}\n${want}`);
  assert.equal(await getInChild(`https://localhost:${port}/b/k`, files.ca), `${want}\n${want}`);
  assert.equal(lastServername, 'localhost');
  assert.equal(connections - before, 2, 'one connection per child for its two GETs');
});

test('a server whose certificate is not under a trusted CA is refused', async () => {
  await assert.rejects(
    getInChild(`https://127.0.0.1:${port}/b/k`),
    /certificate|UNABLE_TO|self-signed|SELF_SIGNED/i,
  );
});
