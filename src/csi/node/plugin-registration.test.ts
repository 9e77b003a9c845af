// Plugin registration spoken from the kubelet's side over a real unix socket: GetInfo, NotifyRegistrationStatus, stale and removed sockets, and `nacre node --registration-dir`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { kubeletRegistrationClient } from '../../../test/csi/kubelet-registration.ts';
import { waitFor } from '../../lib/wait-for.ts';
import {
  type RegistrationStatus,
  registrationSocketPath,
  startPluginRegistration,
} from './plugin-registration.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-reg-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const kubelet = kubeletRegistrationClient;

test('the kubelet gets the driver, its CSI endpoint and versions, and its verdict is reported', async () => {
  const reg = join(dir, 'plugins_registry');
  const statuses: RegistrationStatus[] = [];
  const stop = new AbortController();
  const r = await startPluginRegistration({
    registrationDir: reg,
    driverName: 'csi.nacre.dev',
    kubeletEndpoint: '/var/lib/kubelet/plugins/csi.nacre.dev/csi.sock',
    onStatus: (s) => statuses.push(s),
    signal: stop.signal,
  });
  assert.equal(r.socketPath, join(reg, 'csi.nacre.dev-reg.sock'));
  assert.ok((await stat(r.socketPath)).isSocket());
  const k = kubelet(r.socketPath);
  try {
    assert.deepEqual(await k.getInfo(), {
      type: 'CSIPlugin',
      name: 'csi.nacre.dev',
      endpoint: '/var/lib/kubelet/plugins/csi.nacre.dev/csi.sock',
      supportedVersions: ['1.0.0'],
    });
    assert.equal(r.status(), undefined, 'no verdict before the kubelet gives one');
    await k.notify({ pluginRegistered: false, error: 'validation failed for CSI Driver csi.nacre.dev' });
    assert.deepEqual(r.status(), {
      pluginRegistered: false,
      error: 'validation failed for CSI Driver csi.nacre.dev',
    });
    await k.notify({ pluginRegistered: true, error: '' });
    assert.deepEqual(r.status(), { pluginRegistered: true, error: '' });
    assert.equal(statuses.length, 2);
  } finally {
    k.close();
  }
  // Aborting removes the socket: that is how the kubelet learns to deregister the driver.
  stop.abort();
  await waitFor(
    'the registration socket to be removed',
    async () => (await stat(r.socketPath).catch(() => undefined)) === undefined,
    5_000,
  );
  await r.close();
});

test('a stale socket is replaced; a file in its place and a relative endpoint are refused', async () => {
  const reg = join(dir, 'stale');
  await mkdir(reg, { recursive: true });
  const path = registrationSocketPath(reg, 'csi.nacre.dev');
  // A socket left by a plugin that was killed: a child bound it and died by SIGKILL.
  const child = spawn(process.execPath, [
    '-e',
    `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  await once(child, 'exit');
  const stop = new AbortController();
  const opts = { registrationDir: reg, driverName: 'csi.nacre.dev', signal: stop.signal };
  const r = await startPluginRegistration({ ...opts, kubeletEndpoint: '/csi/csi.sock' });
  const k = kubelet(r.socketPath);
  assert.equal((await k.getInfo()).endpoint, '/csi/csi.sock');
  k.close();
  await r.close();
  assert.equal(await stat(path).catch(() => undefined), undefined);

  await writeFile(path, 'not a socket');
  await assert.rejects(startPluginRegistration({ ...opts, kubeletEndpoint: '/csi/csi.sock' }), {
    name: 'ValidationError',
    message: /registration socket .* exists and is not a socket/,
  });
  await assert.rejects(startPluginRegistration({ ...opts, kubeletEndpoint: 'csi.sock' }), {
    name: 'ValidationError',
    message: /must be an absolute path on the host/,
  });
  stop.abort();
});

test('nacre node --registration-dir serves the registration and removes it on SIGTERM', async () => {
  const base = join(dir, 'cli');
  const reg = join(base, 'plugins_registry');
  const csiSocket = join(base, 'plugins', 'csi.sock');
  const cli = fileURLToPath(new URL('../../../cmd/nacre.ts', import.meta.url));
  const node = spawn(
    process.execPath,
    [
      cli,
      '--log-format=json',
      'node',
      `--csi-endpoint=unix://${csiSocket}`,
      '--node-id=node-a',
      `--state-dir=${join(base, 'state')}`,
      `--registration-dir=${reg}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  node.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  node.stderr.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const exited = once(node, 'exit');
  try {
    const sock = registrationSocketPath(reg, 'csi.nacre.dev');
    await waitFor(
      `nacre node to create ${sock}`,
      async () => (await stat(sock).catch(() => undefined))?.isSocket() === true,
      20_000,
    );
    const k = kubelet(sock);
    // Without --kubelet-registration-path the kubelet is told the --csi-endpoint path itself.
    assert.equal((await k.getInfo()).endpoint, csiSocket);
    await k.notify({ pluginRegistered: false, error: 'RegisterPlugin error -- plugin name mismatch' });
    k.close();
    await waitFor(
      "the kubelet's refusal in the node plugin's log",
      () => out.includes('plugin name mismatch'),
      5_000,
    );
    node.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0, out);
    assert.equal(await stat(sock).catch(() => undefined), undefined, 'the registration socket is gone');
  } finally {
    if (node.exitCode === null) node.kill('SIGKILL');
  }
});
