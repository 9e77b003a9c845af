// Nacre's OCI image built without Docker (scripts/build-image-oci.sh): the archive containerd imports, and the node plugin running from its root file system.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ExecRunner } from '../../src/lib/command-runner.ts';
import { waitFor } from '../../src/lib/wait-for.ts';
import { csiClient } from '../../test/csi/csi-client.ts';
import { kubeletRegistrationClient } from '../../test/csi/kubelet-registration.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const runner = new ExecRunner();
const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

let dir: string;
let archive: string;
let rootfs: string;
let layout: string;

async function sh(command: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const r = await runner.run(command, args, { timeoutMs });
  assert.equal(r.code, 0, `${command} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const sha256 = (path: string) =>
  new Promise<string>((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (b) => h.update(b))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });

const blob = async <T>(digest: string): Promise<T> =>
  JSON.parse(await readFile(join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, '')), 'utf8')) as T;

/** `argv` in the image's root file system, in a private mount namespace with /dev, /proc and `binds`. */
function inImage(argv: string[], opts: { user?: string; binds?: Record<string, string> } = {}): ChildProcess {
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const binds = Object.entries(opts.binds ?? {})
    .map(
      ([host, inside]) =>
        `mkdir -p ${q(rootfs + inside)} && mount --bind ${q(host)} ${q(rootfs + inside)} && `,
    )
    .join('');
  const script =
    `mount --rbind /dev ${q(`${rootfs}/dev`)} && mount -t proc proc ${q(`${rootfs}/proc`)} && ${binds}` +
    `exec chroot --userspec=${opts.user ?? '65532:65532'} ${q(rootfs)} /bin/sh -c 'cd /app && exec "$@"' sh ${argv.map(q).join(' ')}`;
  // No --fork: every step execs the next, so the returned child is the command itself and signals reach it.
  return spawn('unshare', ['--mount', 'sh', '-c', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function runInImage(argv: string[]): Promise<string> {
  const child = inImage(argv);
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(code, 0, `${argv.join(' ')} in the image: ${out}`);
  return out.trim();
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-image-'));
  // A cold build fetches Debian packages and production node_modules: minutes; a warm one, seconds.
  archive = await sh('bash', [join(ROOT, 'scripts', 'build-image-oci.sh')], 20 * 60_000);
  layout = join(dir, 'layout');
  rootfs = join(dir, 'rootfs');
  await mkdir(layout);
  await mkdir(rootfs);
  await sh('tar', ['-xf', archive, '-C', layout]);
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the archive is an OCI layout containerd imports under the chart default name, with the Dockerfile entrypoint, user and directory', async () => {
  assert.deepEqual(JSON.parse(await readFile(join(layout, 'oci-layout'), 'utf8')), {
    imageLayoutVersion: '1.0.0',
  });
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  assert.equal(index.manifests.length, 1);
  const [desc] = index.manifests;
  assert.equal(desc?.annotations?.['io.containerd.image.name'], `docker.io/library/nacre:${pkg.version}`);
  const manifest = await blob<{ config: Descriptor; layers: Descriptor[] }>(desc?.digest ?? '');
  const config = await blob<{
    os: string;
    architecture: string;
    config: { Entrypoint: string[]; User: string; WorkingDir: string; Env: string[] };
    rootfs: { diff_ids: string[] };
  }>(manifest.config.digest);
  assert.deepEqual(config.config.Entrypoint, ['nacre']);
  assert.equal(config.config.User, '65532:65532');
  assert.equal(config.config.WorkingDir, '/app');
  assert.equal(`${config.os}/${config.architecture}`, 'linux/amd64');
  // Every blob is what its name says, and the layers (uncompressed) are their own diff_ids.
  assert.equal(manifest.layers.length, 4);
  for (const d of [desc, manifest.config, ...manifest.layers]) {
    const path = join(layout, 'blobs', 'sha256', (d?.digest ?? '').replace(/^sha256:/, ''));
    assert.equal(`sha256:${await sha256(path)}`, d?.digest);
    assert.equal((await stat(path)).size, d?.size);
  }
  assert.deepEqual(
    config.rootfs.diff_ids,
    manifest.layers.map((l) => l.digest),
  );
  for (const l of manifest.layers)
    await sh('tar', ['-xf', join(layout, 'blobs', 'sha256', l.digest.replace(/^sha256:/, '')), '-C', rootfs]);
});

test("the image's node, nacre and the mount tools the node plugin execs run in its root file system", async () => {
  assert.equal(await runInImage(['node', '--version']), process.version);
  assert.equal(await runInImage(['nacre', '--version']), pkg.version);
  assert.match(await runInImage(['id']), /uid=65532.*gid=65532/);
  for (const tool of [
    ['mount', '--version'],
    ['umount', '--version'],
    ['nsenter', '--version'],
    ['fusermount3', '--version'],
  ])
    assert.match(await runInImage(tool), /util-linux|fusermount3 version/, tool.join(' '));
  // The TLS roots the AWS SDK may use, bundled as ca-certificates' postinst would.
  assert.ok((await stat(join(rootfs, 'etc/ssl/certs/ca-certificates.crt'))).size > 100_000);
});

test('the node plugin from the image serves CSI and registers with a kubelet, as the chart runs it', async () => {
  const csi = join(dir, 'csi');
  const reg = join(dir, 'plugins_registry');
  const state = join(dir, 'state');
  for (const d of [csi, reg, state]) await mkdir(d, { recursive: true });
  const child = inImage(
    [
      'nacre',
      'node',
      '--csi-endpoint=unix:///csi/csi.sock',
      '--node-id=node-a',
      '--state-dir=/var/lib/nacre/node',
      '--registration-dir=/registration',
      '--kubelet-registration-path=/var/lib/kubelet/plugins/csi.nacre.dev/csi.sock',
    ],
    { user: '0:0', binds: { [csi]: '/csi', [reg]: '/registration', [state]: '/var/lib/nacre/node' } },
  );
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const regSocket = join(reg, 'csi.nacre.dev-reg.sock');
  try {
    await waitFor(
      'the registration socket of the node plugin in the image',
      async () => {
        if (child.exitCode !== null) throw new Error(`nacre node exited: ${out}`);
        return (await stat(regSocket).catch(() => undefined))?.isSocket() === true;
      },
      60_000,
    );
    const kubelet = kubeletRegistrationClient(regSocket);
    const info = await kubelet.getInfo();
    await kubelet.notify({ pluginRegistered: true, error: '' });
    kubelet.close();
    assert.equal(info.endpoint, '/var/lib/kubelet/plugins/csi.nacre.dev/csi.sock');
    const client = csiClient(`unix://${join(csi, 'csi.sock')}`);
    try {
      const plugin = await client.identity<{ name: string }>('GetPluginInfo', {}, 10_000);
      assert.equal(plugin.name, 'csi.nacre.dev');
      const node = await client.node<{ nodeId: string }>('NodeGetInfo', {}, 10_000);
      assert.equal(node.nodeId, 'node-a');
    } finally {
      client.close();
    }
    await waitFor(
      'the registration to be logged',
      () => out.includes('kubelet registered the driver'),
      10_000,
    );
  } finally {
    child.kill('SIGTERM');
  }
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, `nacre node stops cleanly on SIGTERM: ${out}`);
  // The plugin removes its registration socket as it stops: the kubelet then deregisters it.
  await waitFor(
    'the registration socket to be removed',
    async () => (await stat(regSocket).catch(() => undefined)) === undefined,
    20_000,
  );
});
