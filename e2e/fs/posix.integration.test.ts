// POSIX through a real FUSE mount of the emulated file system in its own process: data, sizes, names, links, permissions, xattrs, statfs.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { type FsCluster, NACRE, useFsCluster } from './fs-cluster.ts';
import { py, q, RENAME_READER, RENAME_WRITER, run, sh, shResult, waitFor } from './shell.ts';

let fs: FsCluster;
let m: string;

const t = useFsCluster({ fsname: 'posix', mounts: ['a'] });
before(async () => {
  await t.ready;
  fs = t.cluster;
  m = t.mounts['a']!;
});

/** Python prelude: `attempt(f)` prints the errno name f raised, or "ok". */
const ATTEMPT = `
import errno, os, sys
def attempt(f):
    try:
        f()
        return 'ok'
    except OSError as e:
        return errno.errorcode[e.errno]
`;

const sha = async (path: string) => (await sh(`sha256sum < ${q(path)}`)).split(' ')[0]!;

test('a file is created, written, and reads back the same bytes; O_TRUNC empties it', async () => {
  await sh(`mkdir ${m}/basic`);
  // 3 MiB + 123 bytes, written in 1 MiB, 4 KiB and odd-sized pieces.
  const src = await fs.randomFile(3145851);
  await sh(`dd if=${src.path} of=${m}/basic/f bs=1M status=none`);
  assert.equal(await sha(`${m}/basic/f`), src.sha256);
  await sh(
    `dd if=${src.path} of=${m}/basic/g bs=4k status=none && dd if=${src.path} of=${m}/basic/h bs=12345 status=none`,
  );
  assert.equal(await sha(`${m}/basic/g`), src.sha256);
  assert.equal(await sha(`${m}/basic/h`), src.sha256);
  assert.equal(await sh(`stat -c %s ${m}/basic/f`), '3145851\n');
  await sh(`printf 'short' > ${m}/basic/f`);
  assert.equal(await sh(`cat ${m}/basic/f; stat -c ' %s' ${m}/basic/f`), 'short 5\n');
});

test('O_APPEND writes land at the end, also from two processes appending at once', async () => {
  await sh(
    `mkdir ${m}/append && printf 'first\\n' > ${m}/append/log && printf 'second\\n' >> ${m}/append/log`,
  );
  assert.equal(await sh(`cat ${m}/append/log`), 'first\nsecond\n');
  const appender = (tag: string) =>
    py(
      `import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
for i in range(300):
    os.write(fd, ('%s %05d ................\\n' % (sys.argv[2], i)).encode())`,
      [`${m}/append/log`, tag],
    );
  await Promise.all([appender('A'), appender('B')]);
  const lines = (await sh(`cat ${m}/append/log`)).trim().split('\n');
  assert.equal(lines.length, 602, 'no append overwrote another');
  for (const tag of ['A', 'B']) {
    const mine = lines.filter((l) => l.startsWith(`${tag} `));
    assert.deepEqual(
      mine,
      Array.from({ length: 300 }, (_, i) => `${tag} ${String(i).padStart(5, '0')} ................`),
    );
  }
});

test('O_EXCL refuses an existing name with EEXIST and creates a new one', async () => {
  await sh(`mkdir ${m}/excl && touch ${m}/excl/there`);
  const out = await py(
    `${ATTEMPT}
d = sys.argv[1]
flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY
print(attempt(lambda: os.open(d + '/there', flags)), attempt(lambda: os.open(d + '/new', flags)), attempt(lambda: os.open(d + '/new', flags)))`,
    [`${m}/excl`],
  );
  assert.equal(out, 'EEXIST ok EEXIST\n');
});

test('truncate and ftruncate shrink and grow; a shrunk-then-grown tail reads zeros', async () => {
  await sh(`mkdir ${m}/trunc && head -c 8192 /dev/zero | tr '\\0' x > ${m}/trunc/small`);
  await sh(`truncate -s 100 ${m}/trunc/small`);
  assert.equal(await sh(`stat -c %s ${m}/trunc/small`), '100\n');
  await sh(`truncate -s 8192 ${m}/trunc/small`);
  assert.equal(await sh(`head -c 100 ${m}/trunc/small | tr -d x | wc -c`), '0\n', 'the kept bytes');
  assert.equal(await sh(`tail -c +101 ${m}/trunc/small | tr -d '\\0' | wc -c`), '0\n', 'the regrown tail');
  assert.equal(await sh(`stat -c %s ${m}/trunc/small`), '8192\n');

  // ftruncate on an open descriptor, over 4 stripes: shrink into the second stripe, grow past the end.
  await sh(`mkdir ${m}/trunc/wide && ${NACRE.join(' ')} lfs setstripe -c 4 -S 1M ${m}/trunc/wide`);
  const out = await py(
    `import hashlib, os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR)
data = os.urandom(6 << 20)
os.write(fd, data)
keep = (1 << 20) + 12345
os.ftruncate(fd, keep)
print(os.fstat(fd).st_size)
os.ftruncate(fd, 6 << 20)
os.close(fd)
print(hashlib.sha256(data[:keep] + bytes((6 << 20) - keep)).hexdigest())`,
    [`${m}/trunc/wide/f`],
  );
  const [shrunk, expected] = out.trim().split('\n');
  assert.equal(shrunk, String((1 << 20) + 12345));
  assert.equal(await sha(`${m}/trunc/wide/f`), expected, 'the kept head, then zeros to the new size');
});

test('a sparse file past 4 GiB has the right size, reads zeros in the hole and takes no space for it', async () => {
  await sh(`mkdir ${m}/sparse`);
  const usedBefore = Number(await sh(`df -B1 --output=used ${m} | tail -1`));
  // 1 MiB of random data at 5 GiB, its hash remembered.
  const chunk = await fs.randomFile(2 ** 20);
  await sh(`dd if=${chunk.path} of=${m}/sparse/g bs=1M seek=5120 conv=notrunc status=none`);
  assert.equal(await sh(`stat -c %s ${m}/sparse/g`), `${5 * 2 ** 30 + 2 ** 20}\n`);
  assert.equal(
    (await sh(`dd if=${m}/sparse/g bs=1M skip=5120 count=1 status=none | sha256sum`)).split(' ')[0],
    chunk.sha256,
  );
  for (const skipMiB of [0, 2047, 4096, 5119]) {
    const nonZero = await sh(
      `dd if=${m}/sparse/g bs=1M skip=${skipMiB} count=1 status=none | tr -d '\\0' | wc -c`,
    );
    assert.equal(nonZero, '0\n', `the hole at ${skipMiB} MiB reads zeros`);
  }
  assert.equal(
    await sh(`dd if=${m}/sparse/g bs=1M skip=4000 count=1 status=none | wc -c`),
    '1048576\n',
    'a read in the hole returns the full length',
  );
  const usedAfter = Number(await sh(`df -B1 --output=used ${m} | tail -1`));
  assert.ok(usedAfter - usedBefore < 64 * 2 ** 20, `df used grew by ${usedAfter - usedBefore} bytes`);
});

test('mkdir and rmdir: EEXIST for a taken name, ENOTEMPTY for a directory with an entry', async () => {
  await sh(`mkdir ${m}/dirs && mkdir ${m}/dirs/d && touch ${m}/dirs/d/x`);
  assert.match((await shResult(`mkdir ${m}/dirs/d`)).stderr, /File exists/);
  const rmdir = await shResult(`rmdir ${m}/dirs/d`);
  assert.notEqual(rmdir.code, 0);
  assert.match(rmdir.stderr, /Directory not empty/);
  await sh(`rm ${m}/dirs/d/x && rmdir ${m}/dirs/d`);
  assert.match((await shResult(`stat ${m}/dirs/d`)).stderr, /No such file or directory/);
  assert.equal(await sh(`stat -c %h ${m}/dirs`), '2\n', 'nlink of a directory with no subdirectories');
});

test('a directory of 3000 entries lists every one, once', async () => {
  await sh(`mkdir ${m}/many && cd ${m}/many && seq -f 'entry-%05g' 3000 | xargs touch`, {
    timeoutMs: 120_000,
  });
  const names = (await sh(`ls -f ${m}/many`)).split('\n').filter((n) => n && n !== '.' && n !== '..');
  assert.equal(names.length, 3000);
  const expected = Array.from({ length: 3000 }, (_, i) => `entry-${String(i + 1).padStart(5, '0')}`);
  assert.deepEqual(names.sort(), expected);
});

test('rename replaces an existing file, moves a directory with its contents, and refuses what POSIX refuses', async () => {
  const d = `${m}/ren`;
  await sh(`mkdir ${d} && printf new > ${d}/a && printf old > ${d}/b && mv -T ${d}/a ${d}/b`);
  assert.equal(await sh(`cat ${d}/b`), 'new');
  assert.match((await shResult(`stat ${d}/a`)).stderr, /No such file/);
  await sh(`mkdir -p ${d}/d1/sub && printf inside > ${d}/d1/sub/f && mv ${d}/d1 ${d}/d2`);
  assert.equal(await sh(`cat ${d}/d2/sub/f`), 'inside');
  assert.match((await shResult(`ls ${d}/d1`)).stderr, /No such file/);
  const out = await py(
    `${ATTEMPT}
d = sys.argv[1]
os.mkdir(d + '/full'); open(d + '/full/x', 'w').close(); os.mkdir(d + '/empty')
print(attempt(lambda: os.rename(d + '/d2', d + '/full')),
      attempt(lambda: os.rename(d + '/d2', d + '/d2/sub/inner')),
      attempt(lambda: os.rename(d + '/b', d + '/d2')),
      attempt(lambda: os.rename(d + '/d2', d + '/empty')))`,
    [d],
  );
  assert.equal(out, 'ENOTEMPTY EINVAL EISDIR ok\n');
  assert.equal(await sh(`cat ${d}/empty/sub/f`), 'inside');
});

test('a hard link is the same inode with nlink 2, and survives the other name', async () => {
  await sh(`mkdir ${m}/hard && printf data > ${m}/hard/f && ln ${m}/hard/f ${m}/hard/g`);
  const [f, g] = (await sh(`stat -c '%h %i' ${m}/hard/f ${m}/hard/g`)).trim().split('\n');
  assert.equal(f, g);
  assert.match(f!, /^2 \d+$/);
  await sh(`printf more >> ${m}/hard/g && rm ${m}/hard/f`);
  assert.equal(await sh(`cat ${m}/hard/g; stat -c ' %h' ${m}/hard/g`), 'datamore 1\n');
});

test('a symlink reads its target, follows it, and dangles when the target goes', async () => {
  const d = `${m}/sym`;
  await sh(`mkdir ${d} && printf target-data > ${d}/t && ln -s t ${d}/l && ln -s ${d} ${d}/dirlink`);
  assert.equal(await sh(`readlink ${d}/l`), 't\n');
  assert.equal(await sh(`stat -c %F ${d}/l`), 'symbolic link\n');
  assert.equal(await sh(`cat ${d}/l`), 'target-data');
  assert.equal(await sh(`cat ${d}/dirlink/t`), 'target-data');
  await sh(`rm ${d}/t`);
  assert.match((await shResult(`cat ${d}/l`)).stderr, /No such file or directory/);
});

test('an unlinked open file stays readable through its descriptor; after close it is gone, objects too', async () => {
  await sh(`mkdir ${m}/orphan && ${NACRE.join(' ')} lfs setstripe -c 2 ${m}/orphan`);
  const out = await py(
    `import hashlib, os, sys
p = sys.argv[1]
fd = os.open(p, os.O_CREAT | os.O_RDWR)
data = os.urandom(3 << 20)
os.write(fd, data)
ino = os.fstat(fd).st_ino
os.unlink(p)
print(ino, os.path.exists(p), os.fstat(fd).st_nlink, os.fstat(fd).st_size)
os.write(fd, b'tail')
os.lseek(fd, 0, 0)
back = b''
while True:
    b = os.read(fd, 1 << 20)
    if not b: break
    back += b
print(back == data + b'tail')
os.close(fd)
print(sorted(os.listdir(os.path.dirname(p))))`,
    [`${m}/orphan/f`],
  );
  const [first, readBack, listing] = out.trim().split('\n');
  const [ino, ...rest] = first!.split(' ');
  assert.deepEqual(rest, ['False', '0', String(3 << 20)], 'gone from the namespace, size kept');
  assert.equal(readBack, 'True', 'every byte read back through the descriptor');
  assert.equal(listing, '[]');
  await waitFor('the OST objects of the closed orphan are destroyed', async () => {
    return (await fs.objectsOf(Number(ino))).length === 0;
  });
});

test('chmod, chown and touch -d set mode, owner and times', async () => {
  const f = `${m}/attrs`;
  await sh(`touch ${f} && chmod 4751 ${f} && chown 1000:1001 ${f}`);
  await sh(`touch -m -d '2001-02-03 04:05:06.789 UTC' ${f} && touch -a -d '2002-03-04 05:06:07 UTC' ${f}`);
  assert.equal(await sh(`stat -c '%a %u %g %X %Y' ${f}`), '751 1000 1001 1015218367 981173106\n');
  assert.match(await sh(`stat -c %y ${f}`), /^2001-02-03 04:05:06\.789/);
  await sh(`chmod 600 ${f}`);
  assert.equal(await sh(`stat -c %a ${f}`), '600\n');
});

test('extended attributes are set, listed, read, replaced and removed', async () => {
  await sh(`touch ${m}/xattr`);
  const out = await py(
    `${ATTEMPT}
p = sys.argv[1]
os.setxattr(p, 'user.color', b'blue')
os.setxattr(p, 'user.bin', bytes(range(256)))
print(sorted(os.listxattr(p)), os.getxattr(p, 'user.color'), os.getxattr(p, 'user.bin') == bytes(range(256)))
print(attempt(lambda: os.setxattr(p, 'user.color', b'red', os.XATTR_CREATE)),
      attempt(lambda: os.setxattr(p, 'user.none', b'x', os.XATTR_REPLACE)))
os.setxattr(p, 'user.color', b'green', os.XATTR_REPLACE)
print(os.getxattr(p, 'user.color'))
os.removexattr(p, 'user.color')
print(attempt(lambda: os.getxattr(p, 'user.color')), os.listxattr(p))`,
    [`${m}/xattr`],
  );
  assert.equal(
    out,
    "['user.bin', 'user.color'] b'blue' True\nEEXIST ENODATA\nb'green'\nENODATA ['user.bin']\n",
  );
});

test('a non-root user gets EACCES in root’s 0700 directory and can write where the mode allows', async () => {
  await sh(
    `mkdir ${m}/private ${m}/open && printf secret > ${m}/private/file && chmod 700 ${m}/private && chmod 1777 ${m}/open`,
  );
  const asUser = (script: string) =>
    run(['setpriv', '--reuid=1000', '--regid=1000', '--clear-groups', 'sh', '-c', script]);
  const ls = await asUser(`ls ${m}/private`);
  assert.notEqual(ls.code, 0);
  assert.match(ls.stderr, /Permission denied/);
  const cat = await asUser(`cat ${m}/private/file`);
  assert.match(cat.stderr, /Permission denied/);
  const touch = await asUser(`touch ${m}/private/mine`);
  assert.match(touch.stderr, /Permission denied/);
  const own = await asUser(
    `printf mine > ${m}/open/mine && stat -c '%u %g' ${m}/open/mine && cat ${m}/open/mine`,
  );
  assert.equal(own.code, 0, own.stderr);
  assert.equal(own.stdout, '1000 1000\nmine');
  assert.equal(await sh(`cat ${m}/private/file`), 'secret', 'root still reads it');
});

test('a 256-byte name is ENAMETOOLONG; 255 bytes is fine', async () => {
  const out = await py(
    `${ATTEMPT}
d = sys.argv[1]
os.mkdir(d)
print(attempt(lambda: os.close(os.open(d + '/' + 'a' * 256, os.O_CREAT | os.O_WRONLY))),
      attempt(lambda: os.stat(d + '/' + 'b' * 256)),
      attempt(lambda: os.mkdir(d + '/' + 'c' * 256)),
      attempt(lambda: os.close(os.open(d + '/' + 'd' * 255, os.O_CREAT | os.O_WRONLY))),
      os.listdir(d) == ['d' * 255])`,
    [`${m}/names`],
  );
  assert.equal(out, 'ENAMETOOLONG ENAMETOOLONG ENAMETOOLONG ok True\n');
  assert.match((await shResult(`touch ${m}/names/${'e'.repeat(256)}`)).stderr, /File name too long/);
});

test('statfs: df shows the capacity of the four OSTs and lfs df lists them', async () => {
  const [size, avail] = (await sh(`df -B1 --output=size,avail ${m} | tail -1`))
    .trim()
    .split(/\s+/)
    .map(Number);
  const total = fs.config.osts.length * fs.ostCapacityBytes;
  assert.equal(fs.config.osts.length, 4);
  assert.ok(
    size! <= total && size! > total - 4 * 2 ** 20,
    `df size ${size} vs 4 OSTs of ${fs.ostCapacityBytes}`,
  );
  assert.ok(avail! > 0 && avail! <= size!);
  assert.equal(await sh(`stat -f -c %l ${m}`), '255\n', 'the longest name');
  const lfsDf = await sh(`${NACRE.join(' ')} lfs df ${m}`);
  for (let i = 0; i < 4; i++) assert.match(lfsDf, new RegExp(`${fs.fsname}-OST000${i}`));
});

test('a file replaced with rename is never missing or torn for a reader in another process', async () => {
  await sh(`mkdir ${m}/replace && printf 'version 0' > ${m}/replace/current`);
  const [, reader] = await Promise.all([
    py(RENAME_WRITER, [`${m}/replace`, '300']),
    py(RENAME_READER, [`${m}/replace`]),
  ]);
  const [reads, ...failures] = reader.trim().split('\n');
  assert.ok(Number(reads!.split('=')[1]) >= 50, `the reader overlapped the renames (${reads})`);
  assert.deepEqual(failures, [], `open/read of the name being replaced failed (${reads})`);
});
