// Integration: session behaviour through real mounts — invalidation, interrupts, client failures, credentials, unmount (needs root).
process.env['UV_THREADPOOL_SIZE'] ??= '16'; // read loops block pool threads; set before the pool starts

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { forceUnmount, isMounted, LineChild, py, run, sh, waitFor } from '../../../test/lustre/fuse-kit.ts';
import { MemoryClient } from '../../../test/lustre/memory-client.ts';
import { FsError } from '../../lib/errors.ts';
import { type Credentials, type FileHandle, ROOT_CREDENTIALS, ROOT_INO } from '../types.ts';
import { type FuseMount, type MountFuseOptions, mountFuse } from './mount.ts';

/** A memory client with a bug, a read that only ends when interrupted, and a record of mkdir credentials. */
class TroubledClient extends MemoryClient {
  readonly mkdirCreds: Credentials[] = [];
  interruptedReads = 0;
  private slowIno = -1;

  override async lookup(cred: Credentials, parent: number, name: string) {
    if (name === 'boom') throw new TypeError('a bug in the client');
    const attr = await super.lookup(cred, parent, name);
    if (name === 'slow') this.slowIno = attr.ino;
    return attr;
  }

  override async read(handle: FileHandle, offset: number, length: number, signal?: AbortSignal) {
    if (handle.ino !== this.slowIno) return super.read(handle, offset, length);
    if (!signal?.aborted) {
      await new Promise<void>((resolve) =>
        signal?.addEventListener('abort', () => resolve(), { once: true }),
      );
    }
    this.interruptedReads++;
    throw new FsError('EINTR');
  }

  override async mkdir(cred: Credentials, parent: number, name: string, mode: number) {
    this.mkdirCreds.push(cred);
    return super.mkdir(cred, parent, name, mode);
  }
}

/** Mounts `client` on a temp dir for the duration of test `t` (unmounted after it, even when it fails). */
async function mountTemp(
  t: TestContext,
  client: MemoryClient,
  opts: Partial<MountFuseOptions> = {},
): Promise<FuseMount> {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-fuse-'));
  const mount = await mountFuse({ client, mountPoint: dir, source: 'nacre-test', ...opts });
  t.after(async () => {
    try {
      await mount.unmount({ timeoutMs: 5000 });
    } finally {
      await forceUnmount(dir);
      assert.equal(await isMounted(dir), false, 'no mount left behind');
      await rm(dir, { recursive: true, force: true });
    }
  });
  return mount;
}

describe('FUSE session', () => {
  it('drops cached attributes, pages and names when the client reports another client changed them', async (t) => {
    const client = new MemoryClient();
    const m = await mountTemp(t, client, { directIo: false, entryTimeoutMs: 60_000, attrTimeoutMs: 60_000 });
    const env = { MNT: m.mountPoint };
    assert.equal(await sh('echo v1 > $MNT/f; cat $MNT/f; stat -c %s $MNT/f', { env }), 'v1\n3\n');
    // Another client rewrites the file: this mount's kernel still serves its cache...
    const ino = (await client.lookup(ROOT_CREDENTIALS, ROOT_INO, 'f')).ino;
    const h = await client.open(ROOT_CREDENTIALS, ino, 1);
    await client.write(h, 0, Buffer.from('v2 longer\n'));
    await client.release(h);
    assert.equal(await sh('stat -c %s $MNT/f', { env }), '3\n');
    // ...until the client says so.
    client.invalidate({ kind: 'inode', ino });
    await waitFor('new content visible', async () => (await sh('cat $MNT/f', { env })) === 'v2 longer\n');
    await client.unlink(ROOT_CREDENTIALS, ROOT_INO, 'f');
    // (stat -c %s needs only basic attributes, which the kernel may serve from its cache.)
    const statSize = () => run('stat', ['-c', '%s', join(m.mountPoint, 'f')]);
    assert.equal((await statSize()).stdout, '10\n', 'name still cached');
    client.invalidate({ kind: 'entry', parent: ROOT_INO, name: 'f' });
    await waitFor('name gone', async () => (await statSize()).code !== 0);
  });

  it('interrupts a client call when the caller gets a signal, and keeps serving', async (t) => {
    const client = new TroubledClient();
    const m = await mountTemp(t, client);
    const out = await py(
      `import os, signal, sys
def alarm(*_): raise TimeoutError()
signal.signal(signal.SIGALRM, alarm)
p = os.path.join(sys.argv[1], "slow")
open(p, "w").write("data")
fd = os.open(p, os.O_RDONLY)
signal.setitimer(signal.ITIMER_REAL, 0.3)
try: os.read(fd, 10); print("read returned")
except TimeoutError: print("interrupted")`,
      [m.mountPoint],
    );
    assert.equal(out, 'interrupted\n');
    assert.equal(client.interruptedReads, 1);
    assert.equal(await sh('echo ok > $MNT/after; cat $MNT/after', { env: { MNT: m.mountPoint } }), 'ok\n');
  });

  it('answers EIO for an unexpected client error and keeps serving', async (t) => {
    const m = await mountTemp(t, new TroubledClient());
    const r = await run('stat', [join(m.mountPoint, 'boom')]);
    assert.match(r.stderr, /Input\/output error/);
    assert.equal(
      await sh('mkdir $MNT/d; ls -d $MNT/d', { env: { MNT: m.mountPoint } }),
      `${m.mountPoint}/d\n`,
    );
  });

  it('passes the caller uid, gid and supplementary groups to the client', async (t) => {
    const client = new TroubledClient();
    const m = await mountTemp(t, client);
    await sh('mkdir -m 777 $MNT/shared', { env: { MNT: m.mountPoint } });
    const r = await run('setpriv', [
      '--reuid=1000',
      '--regid=1001',
      '--groups=1234,5678',
      'mkdir',
      join(m.mountPoint, 'shared', 'mine'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(client.mkdirCreds.at(-1), { uid: 1000, gid: 1001, groups: [1234, 5678] });
    assert.equal(await sh('stat -c %u:%g $MNT/shared/mine', { env: { MNT: m.mountPoint } }), '1000:1001\n');
  });

  it('supports shared mmap of direct-I/O files', async (t) => {
    const m = await mountTemp(t, new MemoryClient());
    const out = await py(
      `import mmap, os, sys
p = os.path.join(sys.argv[1], "mapped")
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
os.ftruncate(fd, 8192)
mm = mmap.mmap(fd, 8192, mmap.MAP_SHARED)
mm[4096:4101] = b"hello"
mm.flush(); mm.close(); os.close(fd)
print(open(p, "rb").read()[4096:4101].decode())`,
      [m.mountPoint],
    );
    assert.equal(out, 'hello\n');
  });

  it('detaches lazily when busy; open files keep working until closed, then the session ends', async (t) => {
    const m = await mountTemp(t, new MemoryClient());
    await sh('echo kept > $MNT/held', { env: { MNT: m.mountPoint } });
    const holder = new LineChild('python3', [
      '-c',
      'import os, sys\nfd = os.open(sys.argv[1], os.O_RDONLY)\nprint("open", flush=True)\nsys.stdin.readline()\nprint("read", os.pread(fd, 4, 0).decode(), flush=True)',
      join(m.mountPoint, 'held'),
    ]);
    try {
      await holder.waitForLine('open');
      let closed = false;
      void m.closed.then(() => (closed = true));
      await m.unmount({ timeoutMs: 500 });
      assert.equal(await isMounted(m.mountPoint), false);
      assert.equal(closed, false, 'session still serves the open file');
      holder.send('');
      assert.equal(await holder.waitForLine('read'), 'read kept');
      await holder.exited;
      await waitFor('session end', async () => closed);
    } finally {
      holder.kill();
    }
  });

  it('mounts over a dead mount left by a killed daemon', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nacre-fuse-dead-'));
    const script = `import { mountFuse } from ${JSON.stringify(new URL('./mount.ts', import.meta.url).href)};
import { MemoryClient } from ${JSON.stringify(new URL('../../../test/lustre/memory-client.ts', import.meta.url).href)};
await mountFuse({ client: new MemoryClient(), mountPoint: process.env.MNT, source: 'doomed' });
console.log('mounted');
setInterval(() => {}, 1000);`;
    const daemon = new LineChild('sh', [
      '-c',
      `MNT=${dir} UV_THREADPOOL_SIZE=8 exec "$0" --input-type=module -e "$1"`,
      process.execPath,
      script,
    ]);
    let m: FuseMount | undefined;
    try {
      await daemon.waitForLine('mounted');
      daemon.kill();
      await daemon.exited;
      assert.match((await run('stat', [dir])).stderr, /Transport endpoint is not connected/);
      m = await mountFuse({ client: new MemoryClient(), mountPoint: dir, source: 'nacre-test' });
      assert.equal(await sh('echo alive > $MNT/x; cat $MNT/x', { env: { MNT: dir } }), 'alive\n');
    } finally {
      daemon.kill();
      await m?.unmount({ timeoutMs: 5000 }).catch(() => undefined);
      await forceUnmount(dir);
      assert.equal(await isMounted(dir), false, 'no mount left behind');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('sets the mount read-ahead at mount time and later', async (t) => {
    const m = await mountTemp(t, new MemoryClient(), { directIo: false, readAheadKb: 1024 });
    const readAhead = () => sh(`cat /sys/class/bdi/${m.device}/read_ahead_kb`);
    assert.equal(await readAhead(), '1024\n');
    await m.setReadAhead(4096);
    assert.equal(await readAhead(), '4096\n');
  });

  it('unmounts when the AbortSignal fires', async (t) => {
    const controller = new AbortController();
    const m = await mountTemp(t, new MemoryClient(), { signal: controller.signal });
    assert.equal(await isMounted(m.mountPoint), true);
    controller.abort();
    await m.closed;
    assert.equal(await isMounted(m.mountPoint), false);
  });
});
