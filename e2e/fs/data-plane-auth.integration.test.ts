// The authenticated data plane through `nacre up` and real mounts: its generated key, wrong/missing keys refused at mount, raw unauthenticated RPCs refused, root squash.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeFrame, type Frame, FrameDecoder } from '../../src/lustre/protocol/frame.ts';
import { run, waitFor } from './shell.ts';
import { mountWith, startUp, type UpProcess } from './up-process.ts';

let dir: string;
let up: UpProcess | undefined;
const mounts: string[] = [];

const asUser = (uid: number, script: string) =>
  run(['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'sh', '-c', script]);

async function mount(flags: string[], name: string) {
  const m = await mountWith(dir, up!.source, flags, name);
  if (m.code === 0) mounts.push(m.mnt);
  return m;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-auth-'));
  await chmod(dir, 0o755); // uid 1000 reaches the mount below it
  up = await startUp(dir, []);
});

after(async () => {
  for (const m of mounts) await run(['umount', '-l', m], { timeoutMs: 10_000 });
  await up?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('nacre up generated a 0600 key in its data directory, and a mount with that key works', async () => {
  const keyFile = join(dir, 'data', 'data-plane.key');
  const s = await stat(keyFile);
  assert.equal(s.mode & 0o777, 0o600);
  await writeFile(join(dir, 'mnt', 'hello'), 'through the first mount');
  const m = await mount([`--data-plane-key-file=${keyFile}`], 'second');
  assert.equal(m.code, 0, m.stderr);
  const cat = await run(['cat', join(m.mnt, 'hello')]);
  assert.equal(cat.stdout, 'through the first mount');
});

test('a mount with another key fails fast, saying the key does not match', async () => {
  const wrong = join(dir, 'wrong.key');
  await writeFile(wrong, `${'0'.repeat(64)}\n`, { mode: 0o600 });
  const m = await mount([`--data-plane-key-file=${wrong}`], 'wrong');
  assert.notEqual(m.code, 0);
  assert.match(m.stderr, /key file does not match/);
  assert.ok(m.seconds < 15, `failed after ${m.seconds} s`);
});

test('a mount without a key is refused, saying which flag it needs', async () => {
  const m = await mount([], 'nokey');
  assert.notEqual(m.code, 0);
  assert.match(m.stderr, /requires the data-plane key.*--data-plane-key-file/);
  assert.ok(m.seconds < 15, `failed after ${m.seconds} s`);
});

test('a missing key file is a clear start-up error', async () => {
  const m = await mount([`--data-plane-key-file=${join(dir, 'absent.key')}`], 'absent');
  assert.notEqual(m.code, 0);
  assert.match(m.stderr, /cannot read the data-plane key file .*absent\.key/);
});

/** Sends one unauthenticated request frame on a raw TCP connection; resolves with the reply and whether the server closed. */
async function rawCall(address: string, method: string, args: unknown): Promise<Frame> {
  const i = address.lastIndexOf(':');
  const s = net.connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
  const frames: Frame[] = [];
  const d = new FrameDecoder();
  s.on('data', (c: Buffer) => frames.push(...d.push(c)));
  s.on('error', () => {});
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  s.write(Buffer.concat(encodeFrame(1, 7, { m: method, a: args })));
  await closed;
  assert.equal(frames.length, 1);
  return frames[0]!;
}

test('raw RPCs without the handshake are refused and the connection closed (MDS getattr, OSS read)', async () => {
  const mds = await rawCall(up!.mdsAddress, 'connect', { clientId: 'intruder', host: 'x', fsname: 'nacre' });
  assert.equal(mds.kind, 3);
  assert.equal((mds.header as { e: string }).e, 'Unauthenticated');
  const oss = await rawCall(up!.ostAddress, 'read', {
    target: 'nacre-OST0000',
    object: '0x1',
    offset: 0,
    length: 4096,
  });
  assert.equal((oss.header as { e: string }).e, 'Unauthenticated');
  assert.equal(oss.payload, undefined);
});

test('the servers counted and logged the refusals', async () => {
  await waitFor('the MDS log names the refused call', async () => {
    const log = await run(['cat', join(dir, 'data', 'logs', 'mds0.log')]);
    return /refused a connection: call before authentication/.test(log.stdout);
  });
});

test('root squash: root creates files as 65534:65534 and cannot read a 0600 file of another user', async () => {
  const mnt = join(dir, 'mnt');
  // Before squashing: root makes a directory everyone may write to (the root directory is root's, 0755).
  await run(['sh', '-c', `mkdir ${mnt}/shared && chmod 1777 ${mnt}/shared`]);
  for (const m of mounts.splice(0)) await run(['umount', '-l', m], { timeoutMs: 10_000 });
  await up?.stop();
  // The same data again, now with root squash: the setting reaches the existing file system.
  up = await startUp(dir, [], ['--root-squash', '65534:65534']);
  mounts.push(mnt);
  await writeFile(join(mnt, 'shared', 'by-root'), 'x');
  const s = await stat(join(mnt, 'shared', 'by-root'));
  assert.deepEqual([s.uid, s.gid], [65534, 65534]);
  assert.match((await run(['touch', join(mnt, 'at-the-root')])).stderr, /Permission denied/);
  const w = await asUser(
    1000,
    `umask 077 && echo secret > ${mnt}/shared/private && cat ${mnt}/shared/private`,
  );
  assert.equal(w.code, 0, w.stderr);
  assert.equal(w.stdout, 'secret\n');
  const r = await run(['cat', join(mnt, 'shared', 'private')]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Permission denied/);
  // And root cannot chown it away either.
  const c = await run(['chown', '0', join(mnt, 'shared', 'private')]);
  assert.match(c.stderr, /Operation not permitted/);
});
