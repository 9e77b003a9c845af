// Races between processes and between mounts that once lost data or names: rename over a name being read, O_APPEND from two mounts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type FsCluster, startFsCluster } from './fs-cluster.ts';
import { py, sh } from './shell.ts';

let fs: FsCluster;
let a: string;
let b: string;

before(async () => {
  fs = await startFsCluster({ fsname: 'races' });
  a = (await fs.mount('a')).point;
  b = (await fs.mount('b')).point;
});
after(() => fs?.stop());

/** Writes tmp.N and renames it over `current`, `rounds` times, then creates `done`. */
const RENAME_WRITER = `import os, sys
d, rounds = sys.argv[1], int(sys.argv[2])
for i in range(1, rounds + 1):
    with open('%s/tmp.%d' % (d, i), 'w') as f:
        f.write('version %d' % i)
    os.rename('%s/tmp.%d' % (d, i), d + '/current')
open(d + '/done', 'w').close()`;

/** Opens and reads `current` until `done` appears; prints reads=N and every failure with its count. */
const RENAME_READER = `import errno, os, sys
d = sys.argv[1]
reads, bad = 0, {}
while not os.path.exists(d + '/done'):
    reads += 1
    try:
        with open(d + '/current') as f:
            got = f.read()
        if not got.startswith('version '):
            bad['torn read %r' % got] = bad.get('torn read %r' % got, 0) + 1
    except OSError as e:
        bad[errno.errorcode[e.errno]] = bad.get(errno.errorcode[e.errno], 0) + 1
print('reads=%d' % reads)
for k, v in sorted(bad.items()):
    print('%s x%d' % (k, v))`;

test('a file replaced with rename is never missing or torn for a reader in another process', async () => {
  await sh(`mkdir ${a}/replace && printf 'version 0' > ${a}/replace/current`);
  const [, reader] = await Promise.all([
    py(RENAME_WRITER, [`${a}/replace`, '300']),
    py(RENAME_READER, [`${a}/replace`]),
  ]);
  const [reads, ...failures] = reader.trim().split('\n');
  assert.ok(Number(reads!.split('=')[1]) >= 50, `the reader overlapped the renames (${reads})`);
  assert.deepEqual(failures, [], `open/read of the name being replaced failed (${reads})`);
});

test('a file replaced with rename on A is never missing or torn for a reader on B', async () => {
  await sh(`mkdir ${a}/replace2 && printf 'version 0' > ${a}/replace2/current`);
  const [, reader] = await Promise.all([
    py(RENAME_WRITER, [`${a}/replace2`, '300']),
    py(RENAME_READER, [`${b}/replace2`]),
  ]);
  const [reads, ...failures] = reader.trim().split('\n');
  assert.ok(Number(reads!.split('=')[1]) >= 50, `the reader overlapped the renames (${reads})`);
  assert.deepEqual(failures, [], `open/read on B of the name A replaces failed (${reads})`);
});

test('O_APPEND writers on both mounts at once: every line lands, none overwritten', async () => {
  await sh(`touch ${a}/shared.log`);
  const appender = (mount: string, tag: string) =>
    py(
      `import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
for i in range(300):
    os.write(fd, ('%s %05d ................\\n' % (sys.argv[2], i)).encode())`,
      [`${mount}/shared.log`, tag],
    );
  await Promise.all([appender(a, 'A'), appender(b, 'B')]);
  const lines = (await sh(`cat ${b}/shared.log`)).trim().split('\n');
  for (const tag of ['A', 'B']) {
    const mine = lines.filter((l) => l.startsWith(`${tag} `)).length;
    assert.equal(mine, 300, `lines appended on mount ${tag} that survived (file has ${lines.length} lines)`);
  }
  assert.equal(lines.length, 600);
});
