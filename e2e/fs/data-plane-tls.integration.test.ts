// TLS on the data plane through `nacre up` and real mounts: a mount with the TLS files works, a plaintext one is refused saying why.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeTlsFiles, type TlsFilePaths } from '../../test/lustre/tls-files.ts';
import { NACRE } from './fs-cluster.ts';
import { type Held, hold, run } from './shell.ts';

let dir: string;
let up: Held | undefined;
let source: string;
let tls: TlsFilePaths;
const mounts: string[] = [];

const tlsArgs = () => [`--tls-cert=${tls.cert}`, `--tls-key=${tls.key}`, `--tls-ca=${tls.ca}`];
const keyArg = () => `--data-plane-key-file=${join(dir, 'data', 'data-plane.key')}`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-tls-'));
  await chmod(dir, 0o755);
  tls = await makeTlsFiles(dir);
  up = hold([
    ...NACRE,
    ...tlsArgs(),
    'up',
    '--data-dir',
    join(dir, 'data'),
    '--mount',
    join(dir, 'mnt'),
    '--port',
    '0',
    '--osts',
    '2',
    '--ost-size',
    '1G',
    '--no-api',
  ]);
  await up.waitForLine(/Press Ctrl-C/, 180_000);
  const line = up.lines.find((l) => l.trimStart().startsWith('source'));
  assert.ok(line);
  source = line.trim().split(/\s+/)[1]!;
});

after(async () => {
  for (const m of mounts) await run(['umount', '-l', m], { timeoutMs: 10_000 });
  if (up && !up.exited) {
    process.kill(up.pid, 'SIGINT');
    await up.release(30_000);
  }
  await rm(dir, { recursive: true, force: true });
});

async function mountWith(flags: string[], name: string) {
  const mnt = join(dir, name);
  await run(['mkdir', '-p', mnt]);
  const started = Date.now();
  const r = await run([...NACRE, ...flags, 'mount', source, mnt, '--log-file', join(dir, `${name}.log`)], {
    timeoutMs: 60_000,
  });
  if (r.code === 0) mounts.push(mnt);
  return { ...r, mnt, seconds: (Date.now() - started) / 1000 };
}

test('with TLS on every server, a mount with the TLS files and the key reads what nacre up wrote', async () => {
  await run(['sh', '-c', `echo over-tls > ${join(dir, 'mnt', 'f')}`]);
  const m = await mountWith([keyArg(), ...tlsArgs()], 'second');
  assert.equal(m.code, 0, m.stderr);
  assert.equal((await run(['cat', join(m.mnt, 'f')])).stdout, 'over-tls\n');
});

test('a plaintext mount is refused at once, saying the servers want TLS and which flags to pass', async () => {
  const m = await mountWith([keyArg()], 'plain');
  assert.notEqual(m.code, 0);
  assert.match(m.stderr, /TLS connections only.*--tls-cert/);
  assert.ok(m.seconds < 15, `failed after ${m.seconds} s`);
});
