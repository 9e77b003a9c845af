// POSIX corner cases on a real FUSE mount, as root and as an unprivileged user, against Linux's own answers on a local directory.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type FsCluster, startFsCluster } from './fs-cluster.ts';
import { POSIX_CASES } from './posix-cases.ts';
import { py, sh } from './shell.ts';

let fs: FsCluster;
let m: string;
let local: string;

before(async () => {
  fs = await startFsCluster({ fsname: 'corners' });
  m = (await fs.mount('a')).point;
  local = await mkdtemp(join(tmpdir(), 'nacre-posix-reference-'));
  await chmod(local, 0o755);
});
after(async () => {
  await fs?.stop();
  if (local) await rm(local, { recursive: true, force: true });
});

/** Runs the cases on the mount and on the local directory; resolves with the cases that differ. */
async function differences(dirName: string, only = ''): Promise<{ mount: string[]; linux: string[] }> {
  await sh(`mkdir -m 777 ${m}/${dirName} ${local}/${dirName}`);
  const [mine, linux] = await Promise.all([
    py(POSIX_CASES, [`${m}/${dirName}`, only], 120_000),
    py(POSIX_CASES, [`${local}/${dirName}`, only], 120_000),
  ]);
  const split = (out: string) => out.split(/\n(?=\S)/);
  const mineCases = split(mine);
  const linuxCases = split(linux);
  assert.ok(linuxCases.length > 0);
  return {
    mount: mineCases.filter((c, i) => linuxCases[i] !== c),
    linux: linuxCases.filter((c, i) => mineCases[i] !== c),
  };
}

/** Runs each group of cases (a regex on case names) and asserts the mount answers as ext4 does. */
async function sameAsLinux(prefix: string, groups: string[]): Promise<void> {
  const mount: string[] = [];
  const linux: string[] = [];
  for (const g of groups) {
    const d = await differences(`${prefix}-${g.replace(/[^a-z]/g, '')}`, g);
    mount.push(...d.mount);
    linux.push(...d.linux);
  }
  assert.deepEqual(mount, linux, `cases where the mount answers differently from Linux's ext4`);
}

test('set-user-ID and set-group-ID bits are cleared by write, truncate and chown as Linux clears them', async () => {
  await sameAsLinux('setid', ['set-id']);
});

const NAMESPACE_CALLS = [
  'chmod',
  'chown',
  'link',
  'mkdir',
  'mkfifo',
  'mknod',
  'open',
  'rename',
  'rmdir',
  'symlink',
];
const DATA_CALLS = ['truncate', 'ftruncate', 'unlink', 'utimensat', 'setxattr', 'fallocate'];

test('chmod, chown, link, mkdir, mkfifo, mknod, open, rename, rmdir, symlink answer as Linux does', async () => {
  await sameAsLinux(
    'ns',
    NAMESPACE_CALLS.map((c) => `^${c}$`),
  );
});

test('truncate, ftruncate, unlink, utimensat, setxattr, fallocate answer as Linux does; a failed call changes nothing', async () => {
  await sameAsLinux(
    'data',
    DATA_CALLS.map((c) => `^${c}$`),
  );
});

/** Names that are not UTF-8: created, listed, renamed (also into another directory), linked, unlinked. */
const BYTE_NAMES = `
import errno, os, sys
d = sys.argv[1].encode()
def attempt(f):
    try:
        f()
        return 'ok'
    except OSError as e:
        return errno.errorcode[e.errno]
names = [b'caf\\xe9', b'\\xff\\xfe', b'ok-\\x80x', b'\\xed\\xa0\\x80']
for n in names:
    with open(d + b'/' + n, 'wb') as f:
        f.write(n)
print(sorted(os.listdir(d)))
os.rename(d + b'/' + names[0], d + b'/\\xc0renamed')
os.mkdir(d + b'/dir\\xa0')
os.rename(d + b'/' + names[1], d + b'/dir\\xa0/\\xfe')
os.link(d + b'/dir\\xa0/\\xfe', d + b'/hard\\xfe')
print(sorted(os.listdir(d)), os.listdir(d + b'/dir\\xa0'), open(d + b'/hard\\xfe', 'rb').read())
os.unlink(d + b'/' + names[2])
os.symlink(b'target', d + b'/link\\xff')
print(sorted(os.listdir(d)), os.readlink(d + b'/link\\xff'), os.stat(d + b'/\\xc0renamed').st_size)
print(attempt(lambda: open(d + b'/' + b'\\xff' * 255, 'wb').close()), attempt(lambda: open(d + b'/' + b'\\xff' * 256, 'wb').close()))
`;

test('names that are not UTF-8 are created, listed, renamed, linked and unlinked as on ext4', async () => {
  await sh(`mkdir ${m}/bytes ${local}/bytes`);
  const [mine, linux] = await Promise.all([
    py(BYTE_NAMES, [`${m}/bytes`]),
    py(BYTE_NAMES, [`${local}/bytes`]),
  ]);
  assert.equal(mine, linux);
});

/** Symlink targets that are not UTF-8 (any byte but NUL, "/" included): stored, read back, sized in bytes. */
const BYTE_TARGETS = `
import os, sys
d = sys.argv[1].encode()
for i, t in enumerate([b'\\xff', b'/abs/\\xfe\\xfd/x', b'caf\\xe9/../y', b'\\xc3\\xa9t\\xe9']):
    os.symlink(t, d + b'/l%d' % i)
    print(os.readlink(d + b'/l%d' % i) == t, os.lstat(d + b'/l%d' % i).st_size)
`;

test('symlink targets that are not UTF-8 are stored and read back as on ext4', async () => {
  await sh(`mkdir ${m}/targets ${local}/targets`);
  const [mine, linux] = await Promise.all([
    py(BYTE_TARGETS, [`${m}/targets`]),
    py(BYTE_TARGETS, [`${local}/targets`]),
  ]);
  assert.equal(mine, linux);
  assert.equal(mine, 'True 1\nTrue 9\nTrue 9\nTrue 4\n');
});
