// Integration: the memory client mounted through /dev/fuse, exercised by real syscalls from child processes (needs root).
// The daemon serves from this process, so this process never touches the mount itself: children do.
process.env['UV_THREADPOOL_SIZE'] ??= '16'; // 4 read loops block pool threads; set before the pool starts

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { forceUnmount, isMounted, LineChild, py, run, sh } from '../../../test/lustre/fuse-kit.ts';
import { MemoryClient } from '../../../test/lustre/memory-client.ts';
import { type FuseMount, mountFuse } from './mount.ts';

const MiB = 1 << 20;

describe('FUSE mount of the memory client', () => {
  let work: string;
  let mnt: string;
  let mount: FuseMount | undefined;
  const env = (): Record<string, string> => ({ MNT: mnt, WORK: work });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'nacre-fuse-work-'));
    mnt = await mkdtemp(join(tmpdir(), 'nacre-fuse-mnt-'));
    mount = await mountFuse({ client: new MemoryClient(), mountPoint: mnt, source: 'nacre-test' });
  });

  after(async () => {
    try {
      await mount?.unmount();
    } finally {
      await forceUnmount(mnt);
      assert.equal(await isMounted(mnt), false, 'no mount left behind');
      await rm(mnt, { recursive: true, force: true });
      await rm(work, { recursive: true, force: true });
    }
  });

  it('writes a file and reads it back; appends; truncates', async () => {
    const out = await sh('printf hello > $MNT/a; cat $MNT/a; printf " world" >> $MNT/a; echo; cat $MNT/a', {
      env: env(),
    });
    assert.equal(out, 'hello\nhello world');
    assert.equal(await sh('truncate -s 3 $MNT/a; cat $MNT/a; stat -c %s $MNT/a', { env: env() }), 'hel3\n');
    assert.equal(await sh(': > $MNT/a; stat -c %s $MNT/a', { env: env() }), '0\n');
  });

  it('moves multi-MiB files through 1 MiB requests intact', async () => {
    await writeFile(
      join(work, 'src'),
      Buffer.from(Array.from({ length: 9 * MiB + 123 }, (_, i) => (i * 7 + (i >> 13)) & 0xff)),
    );
    const out = await sh(
      'dd if=$WORK/src of=$MNT/big bs=4M 2>/dev/null; cmp $WORK/src $MNT/big && stat -c %s $MNT/big',
      { env: env() },
    );
    assert.equal(out, `${9 * MiB + 123}\n`);
    assert.equal(
      await sh('dd if=$MNT/big bs=3M 2>/dev/null | cmp - $WORK/src && echo same', { env: env() }),
      'same\n',
    );
  });

  it('writes and reads at a 5 GiB offset of a sparse file, holes reading as zeros', async () => {
    const out = await py(
      `import os, sys
p = sys.argv[1]
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
block = bytes(range(256)) * 4096
os.pwrite(fd, block, 5 << 30)
os.close(fd)
fd = os.open(p, os.O_RDONLY)
print(os.fstat(fd).st_size == (5 << 30) + len(block))
print(os.pread(fd, len(block), 5 << 30) == block)
print(os.pread(fd, 1 << 20, 3 << 30) == bytes(1 << 20))
print(len(os.pread(fd, 100, (5 << 30) + len(block) - 10)))`,
      [join(mnt, 'sparse')],
    );
    assert.equal(out, 'True\nTrue\nTrue\n10\n');
  });

  it('lists a directory of 3000 entries completely, with and without attributes', async () => {
    await py(
      `import os, sys
d = sys.argv[1]
os.mkdir(d)
for i in range(3000): open(os.path.join(d, f"file-with-a-longish-name-{i:05}"), "w").close()`,
      [join(mnt, 'many')],
    );
    const names = (await sh('ls -1 $MNT/many', { env: env() })).trim().split('\n');
    assert.equal(names.length, 3000);
    assert.equal(new Set(names).size, 3000);
    assert.equal(await sh('find $MNT/many -type f -size 0 | wc -l', { env: env() }), '3000\n');
  });

  it('renames, including over an existing file, RENAME_NOREPLACE and RENAME_EXCHANGE', async () => {
    await sh('echo one > $MNT/r1; echo two > $MNT/r2; mv $MNT/r1 $MNT/r3', { env: env() });
    assert.equal(await sh('cat $MNT/r3; test ! -e $MNT/r1 && echo gone', { env: env() }), 'one\ngone\n');
    const out = await py(
      `import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = sys.argv[1].encode(), sys.argv[2].encode()
r = libc.renameat2(-100, a, -100, b, 1)
print(r, os.strerror(ctypes.get_errno()) if r else "")
print(libc.renameat2(-100, a, -100, b, 2))
print(open(a).read().strip(), open(b).read().strip())`,
      [join(mnt, 'r2'), join(mnt, 'r3')],
    );
    assert.equal(out, '-1 File exists\n0\none two\n');
    await sh('mv -f $MNT/r2 $MNT/r3', { env: env() });
    assert.equal(await sh('cat $MNT/r3; ls $MNT | grep -c "^r[123]$"', { env: env() }), 'one\n1\n');
  });

  it('hard links share the inode and the data; symlinks resolve', async () => {
    const out = await sh(
      `echo data > $MNT/orig; ln $MNT/orig $MNT/hard; ln -s orig $MNT/soft
       stat -c %h $MNT/orig; [ "$(stat -c %i $MNT/orig)" = "$(stat -c %i $MNT/hard)" ] && echo same-inode
       readlink $MNT/soft; cat $MNT/soft; rm $MNT/orig; cat $MNT/hard; stat -c %h $MNT/hard`,
      { env: env() },
    );
    assert.equal(out, '2\nsame-inode\norig\ndata\ndata\n1\n');
  });

  it('keeps an unlinked file readable through its open descriptor', async () => {
    const out = await py(
      `import os, sys
p = sys.argv[1]
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o600)
os.write(fd, b"still here")
os.unlink(p)
print(os.path.exists(p), os.fstat(fd).st_nlink)
print(os.pread(fd, 100, 0).decode())
os.close(fd)`,
      [join(mnt, 'doomed')],
    );
    assert.equal(out, 'False 0\nstill here\n');
  });

  it('changes mode, owner and times; chown clears the setuid bit', async () => {
    const out = await sh(
      `touch $MNT/m; chmod 4750 $MNT/m; stat -c %a $MNT/m; chown 1000:1001 $MNT/m; stat -c '%a %u:%g' $MNT/m
       touch -d '2001-02-03 04:05:06.123456789 UTC' $MNT/m; TZ=UTC stat -c %y $MNT/m
       mkfifo $MNT/fifo; stat -c %F $MNT/fifo`,
      { env: env() },
    );
    assert.equal(out, '4750\n750 1000:1001\n2001-02-03 04:05:06.123457000 +0000\nfifo\n');
  });

  it('stores, lists and removes extended attributes, with size probes and ERANGE', async () => {
    const out = await py(
      `import ctypes, errno, os, sys
p = sys.argv[1]
open(p, "w").close()
big = b"v" * 1000
os.setxattr(p, "user.big", big)
os.setxattr(p, "user.small", b"s")
print(os.getxattr(p, "user.big") == big, sorted(os.listxattr(p)))
libc = ctypes.CDLL(None, use_errno=True)
print(libc.getxattr(p.encode(), b"user.big", None, 0))
buf = ctypes.create_string_buffer(10)
print(libc.getxattr(p.encode(), b"user.big", buf, 10), errno.errorcode[ctypes.get_errno()])
for call in (lambda: os.setxattr(p, "user.small", b"x", os.XATTR_CREATE), lambda: os.getxattr(p, "user.none")):
    try: call()
    except OSError as e: print(errno.errorcode[e.errno])
os.removexattr(p, "user.big")
print(os.listxattr(p))`,
      [join(mnt, 'x')],
    );
    assert.equal(out, "True ['user.big', 'user.small']\n1000\n-1 ERANGE\nEEXIST\nENODATA\n['user.small']\n");
  });

  it('reports statfs (df)', async () => {
    const out = await sh('df -B1 --output=size,target $MNT | tail -1; stat -f -c "%S %l" $MNT', {
      env: env(),
    });
    assert.equal(out, `${256 * 1024 ** 3} ${mnt}\n4096 255\n`);
  });

  it('maps client errors to errnos', async () => {
    const out = await py(
      `import errno, os, sys
m = sys.argv[1]
os.mkdir(m + "/full"); open(m + "/full/f", "w").close(); open(m + "/file", "w").close()
for call in (lambda: os.stat(m + "/missing"), lambda: os.mkdir(m + "/full"), lambda: os.rmdir(m + "/full"),
             lambda: os.rmdir(m + "/file"), lambda: os.unlink(m + "/full"), lambda: os.readlink(m + "/file"),
             lambda: os.open(m + "/file", os.O_CREAT | os.O_EXCL)):
    try: call(); print("ok")
    except OSError as e: print(errno.errorcode[e.errno])`,
      [mnt],
    );
    assert.equal(out, 'ENOENT\nEEXIST\nENOTEMPTY\nENOTDIR\nEISDIR\nEINVAL\nEEXIST\n');
  });

  it('lets the kernel deny an unprivileged user by mode bits (default_permissions)', async () => {
    await sh(
      'mkdir -m 700 $MNT/private; echo secret > $MNT/private/f; echo open > $MNT/public; chmod 644 $MNT/public',
      {
        env: env(),
      },
    );
    const user = { env: env(), asUser: 1000 };
    assert.equal(
      (await run('sh', ['-c', 'cat $MNT/private/f'], user)).stderr.includes('Permission denied'),
      true,
    );
    assert.equal(
      (await run('sh', ['-c', 'echo x > $MNT/public'], user)).stderr.includes('Permission denied'),
      true,
    );
    assert.equal(
      (await run('sh', ['-c', 'touch $MNT/new'], user)).stderr.includes('Permission denied'),
      true,
    );
    assert.equal(await sh('cat $MNT/public', user), 'open\n');
  });

  it('makes flock exclusive between processes, and a timed-out wait is interrupted', async () => {
    const holder = new LineChild('flock', ['-x', join(mnt, 'flk'), '-c', 'echo held; read line']);
    try {
      await holder.waitForLine('held');
      assert.equal((await run('flock', ['-n', join(mnt, 'flk'), 'true'])).code, 1);
      // flock -w arms an alarm; the signal makes the kernel send FUSE_INTERRUPT for the blocked SETLKW.
      const timed = await run('flock', ['-w', '0.3', join(mnt, 'flk'), 'true']);
      assert.equal(timed.code, 1);
      const waiter = run('flock', [join(mnt, 'flk'), '-c', 'echo got']);
      holder.send('');
      assert.equal((await waiter).stdout, 'got\n');
    } finally {
      holder.kill();
    }
  });

  it('makes fcntl byte-range locks conflict between processes and reports the holder', async () => {
    const script = `import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.lockf(fd, fcntl.LOCK_EX, 100, 0)
print("held", os.getpid(), flush=True)
sys.stdin.readline()`;
    const holder = new LineChild('python3', ['-c', script, join(mnt, 'rng')]);
    try {
      const pid = (await holder.waitForLine('held')).split(' ')[1];
      const probe = `import errno, fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try: fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 50); print("got")
except OSError as e: print(errno.errorcode[e.errno])
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 200); print("disjoint")
t, w, s, l, p = struct.unpack("hhqqi4x", fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack("hhqqi4x", fcntl.F_WRLCK, 0, 50, 10, 0)))
print(t == fcntl.F_WRLCK, s, l, p)`;
      assert.equal(await py(probe, [join(mnt, 'rng')]), `EAGAIN\ndisjoint\nTrue 0 100 ${pid}\n`);
      const blocked = py(
        'import fcntl, os, sys\nfd = os.open(sys.argv[1], os.O_RDWR)\nfcntl.lockf(fd, fcntl.LOCK_EX, 10, 50)\nprint("got")',
        [join(mnt, 'rng')],
      );
      holder.send('');
      assert.equal(await blocked, 'got\n');
    } finally {
      holder.kill();
    }
  });

  it('allocates space with fallocate and refuses hole punching', async () => {
    assert.equal(await sh('fallocate -l 3M $MNT/fa; stat -c %s $MNT/fa', { env: env() }), `${3 * MiB}\n`);
    const punch = await run('fallocate', ['-p', '-o', '0', '-l', '4096', join(mnt, 'fa')]);
    assert.notEqual(punch.code, 0);
  });
});
