// The Kubernetes edge's connection pool, against a real TLS server that offers both HTTP/2 and HTTP/1.1.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeTlsFiles, readTlsFiles } from '../../test/lustre/tls-files.ts';
import { CustomResourceClient, isKubeError, loadKubeConfig } from './kube.ts';

test('every call of one kubeconfig, aborted ones included, goes over HTTP/1.1 and reuses its connection', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-kube-pool-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tls = await readTlsFiles(await makeTlsFiles(dir));
  const versions: string[] = [];
  let connections = 0;
  let slow = false;
  const server = createSecureServer({ cert: tls.cert, key: tls.key, allowHTTP1: true }, (req, res) => {
    versions.push(req.httpVersion);
    const reply = () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ apiVersion: 'nacre.io/v1', kind: 'FileSystem', metadata: { name: 'a' } }));
    };
    if (slow) setTimeout(reply, 1_000).unref();
    else reply();
  });
  server.on('secureConnection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address() as AddressInfo;
  const config = join(dir, 'kubeconfig');
  await writeFile(
    config,
    `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:${port}", certificate-authority-data: "${tls.ca.toString('base64')}" } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`,
  );
  const kc = loadKubeConfig(config);
  const type = { group: 'nacre.io', version: 'v1', plural: 'filesystems' };
  const client = new CustomResourceClient(kc, type);
  const signal = AbortSignal.timeout(30_000);
  for (let i = 0; i < 10; i++) assert.equal((await client.get('default', 'a', signal))?.metadata?.name, 'a');
  // (undici opens a second connection after the first call here; a new Agent per call would open ten.)
  assert.ok(connections <= 2, `ten calls in a row share their connections (${connections} opened)`);
  // Calls that run into their deadline, as the lease's do under load, then calls that succeed again.
  slow = true;
  const hasty = new CustomResourceClient(kc, type, 100);
  for (let i = 0; i < 5; i++)
    await assert.rejects(hasty.get('default', 'a', signal), (err) => isKubeError(err));
  slow = false;
  for (let i = 0; i < 5; i++) assert.equal((await client.get('default', 'a', signal))?.metadata?.name, 'a');
  assert.deepEqual(new Set(versions), new Set(['1.1']), 'HTTP/1.1 only, never HTTP/2');
  assert.equal(versions.length, 20);
});
