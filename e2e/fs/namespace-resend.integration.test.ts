// Namespace changes the MDS made before their FUSE daemon died happen once: the kernel resends them to the keeper's next daemon, which the MDS answers as it answered the first.
import assert from 'node:assert/strict';
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { type KeptMount, keptMount, killDaemonWithRequestsAtMds } from './daemon-kill.ts';
import { type FsCluster, startFsCluster } from './fs-cluster.ts';
import { type Held, hold, py } from './shell.ts';

let cluster: FsCluster;
let kept: KeptMount | undefined;
let mnt: string;
let stateFile: string;

/** One namespace call (argv[1]: its name) on the paths after it; prints `ok` or `err <ERRNO>`. A create writes `data` through its descriptor and flocks it (the MDS checks the handle is the caller's). */
const CALL = `import errno, fcntl, os, stat, sys
op, a = sys.argv[1], sys.argv[2:]
try:
    if op == 'create':
        fd = os.open(a[0], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, b'data')
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.close(fd)
    elif op == 'mkdir': os.mkdir(a[0])
    elif op == 'mknod': os.mknod(a[0], 0o644 | stat.S_IFIFO)
    elif op == 'symlink': os.symlink('target', a[0])
    elif op == 'link': os.link(a[0], a[1])
    elif op == 'unlink': os.unlink(a[0])
    elif op == 'rmdir': os.rmdir(a[0])
    elif op == 'rename': os.rename(a[0], a[1])
    elif op == 'setxattr': os.setxattr(a[0], 'user.k', b'v', os.XATTR_CREATE)
    elif op == 'removexattr': os.removexattr(a[0], 'user.k')
    elif op == 'truncate': os.truncate(a[0], 2)
    elif op == 'open-trunc':
        fd = os.open(a[0], os.O_WRONLY | os.O_TRUNC)
        os.write(fd, b'new')
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.close(fd)
    print('ok', flush=True)
except OSError as e:
    print('err ' + errno.errorcode.get(e.errno, str(e.errno)), flush=True)
`;

/** Each call in a directory of its own (the kernel serializes changes in one directory): argv after the op. */
const CALLS: Record<string, string[]> = {
  create: ['create/f'],
  mkdir: ['mkdir/d'],
  mknod: ['mknod/p'],
  symlink: ['symlink/s'],
  link: ['link/src', 'link/dst'],
  unlink: ['unlink/victim'],
  rmdir: ['rmdir/gone'],
  rename: ['rename/a', 'rename/b'],
  setxattr: ['xattr/set'],
  removexattr: ['xattr/removed'],
  truncate: ['truncate/f'],
  'open-trunc': ['open-trunc/f'],
};

/** Makes the directories and the names the calls need, then looks up every name the calls touch (so the daemon answers those lookups from its cache, and only the change itself goes to the MDS). */
const PREPARE = `import os, sys
os.chdir(sys.argv[1])
for d in ['create', 'mkdir', 'mknod', 'symlink', 'link', 'unlink', 'rmdir', 'rename', 'xattr', 'truncate', 'open-trunc']: os.mkdir(d)
for f, data in [('link/src', 'src'), ('unlink/victim', 'x'), ('rename/a', 'new'), ('rename/b', 'old'), ('xattr/set', ''), ('xattr/removed', ''), ('truncate/f', 'abcdef'), ('open-trunc/f', 'old bytes')]:
    with open(f, 'w') as out: out.write(data)
os.mkdir('rmdir/gone')
os.setxattr('xattr/removed', 'user.k', b'v')
for p in sys.argv[2:]:
    try: os.lstat(p)
    except FileNotFoundError: pass
`;

before(async () => {
  cluster = await startFsCluster({ ossCount: 1 });
  kept = await keptMount(cluster);
  ({ mnt, stateFile } = kept);
});

after(async () => {
  await kept?.unmount();
  await cluster?.stop();
});

it('kill -9 of the daemon after the MDS got create, mkdir, mknod, symlink, link, unlink, rmdir, rename, setxattr, removexattr, truncate and an O_TRUNC open: each happened once and returned success', {
  timeout: 180_000,
}, async () => {
  const paths = Object.values(CALLS).flat();
  await py(PREPARE, [mnt, ...paths]);
  const callers = new Map<string, Held>();
  try {
    await killDaemonWithRequestsAtMds(
      cluster,
      stateFile,
      () => {
        for (const [op, args] of Object.entries(CALLS))
          callers.set(op, hold(['python3', '-c', CALL, op, ...args.map((a) => join(mnt, a))]));
        return [...callers.values()].map((c) => c.pid);
      },
      // Each call's request is well over 100 bytes: most of them reached the MDS (keep-alives are smaller and one at a time).
      100 * callers.size,
    );
    const results: Record<string, string> = {};
    for (const [op, c] of callers) results[op] = await c.waitForLine(/^(ok|err)/, 90_000);
    assert.deepEqual(results, Object.fromEntries(Object.keys(CALLS).map((op) => [op, 'ok'])));
  } finally {
    for (const c of callers.values()) await c.release(10_000);
  }
  // The tree is what one run of each call makes.
  assert.equal(
    await readFile(join(mnt, 'create/f'), 'utf8'),
    'data',
    "written through the resent create's descriptor",
  );
  assert.ok((await stat(join(mnt, 'mkdir/d'))).isDirectory());
  assert.ok((await stat(join(mnt, 'mknod/p'))).isFIFO());
  assert.equal(await readlink(join(mnt, 'symlink/s')), 'target');
  const src = await stat(join(mnt, 'link/src'));
  assert.equal(src.nlink, 2, 'linked once');
  assert.equal((await stat(join(mnt, 'link/dst'))).ino, src.ino);
  assert.deepEqual(await readdir(join(mnt, 'unlink')), []);
  assert.deepEqual(await readdir(join(mnt, 'rmdir')), []);
  assert.deepEqual(await readdir(join(mnt, 'rename')), ['b']);
  assert.equal(await readFile(join(mnt, 'rename/b'), 'utf8'), 'new');
  const xattrs = await py(
    "import os, sys; print(os.getxattr(sys.argv[1], 'user.k').decode(), os.listxattr(sys.argv[2]))",
    [join(mnt, 'xattr/set'), join(mnt, 'xattr/removed')],
  );
  assert.equal(xattrs.trim(), 'v []');
  assert.equal(await readFile(join(mnt, 'truncate/f'), 'utf8'), 'ab', 'truncated once, to its size');
  assert.equal(
    await readFile(join(mnt, 'open-trunc/f'), 'utf8'),
    'new',
    "written and flocked through the resent open's descriptor",
  );
});
