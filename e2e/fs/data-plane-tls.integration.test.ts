// TLS on the data plane through `nacre up` and real mounts: a mount with the TLS files works, a plaintext one is refused saying why.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeTlsFiles, type TlsFilePaths } from '../../test/lustre/tls-files.ts';
import { run } from './shell.ts';
import { mountWith, startUp, type UpProcess } from './up-process.ts';

let dir: string;
let up: UpProcess | undefined;
let tls: TlsFilePaths;
const mounts: string[] = [];

const tlsArgs = () => [`--tls-cert=${tls.cert}`, `--tls-key=${tls.key}`, `--tls-ca=${tls.ca}`];
const keyArg = () => `--data-plane-key-file=${join(dir, 'data', 'data-plane.key')}`;

async function mount(flags: string[], name: string) {
  const m = await mountWith(dir, up!.source, flags, name);
  if (m.code === 0) mounts.push(m.mnt);
  return m;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-tls-'));
  await chmod(dir, 0o755);
  tls = await makeTlsFiles(dir);
  up = await startUp(dir, tlsArgs());
});

after(async () => {
  for (const m of mounts) await run(['umount', '-l', m], { timeoutMs: 10_000 });
  await up?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('with TLS on every server, a mount with the TLS files and the key reads what nacre up wrote', async () => {
  await run(['sh', '-c', `echo over-tls > ${join(dir, 'mnt', 'f')}`]);
  const m = await mount([keyArg(), ...tlsArgs()], 'second');
  assert.equal(m.code, 0, m.stderr);
  assert.equal((await run(['cat', join(m.mnt, 'f')])).stdout, 'over-tls\n');
});

test('a plaintext mount is refused at once, saying the servers want TLS and which flags to pass', async () => {
  const m = await mount([keyArg()], 'plain');
  assert.notEqual(m.code, 0);
  assert.match(m.stderr, /TLS connections only.*--tls-cert/);
  assert.ok(m.seconds < 15, `failed after ${m.seconds} s`);
});
