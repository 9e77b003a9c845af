// Locks across an MDS restart: flock and fcntl locks held by a live mount are re-asserted after kill -9 of the MDS (lock replay), and no other mount gets them meanwhile.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type FsCluster, startFsCluster } from './fs-cluster.ts';
import { hold, py, sh, waitFor } from './shell.ts';

let fs: FsCluster;
let a: string;
let b: string;

before(async () => {
  fs = await startFsCluster({ fsname: 'lockrec', ossCount: 1 });
  a = (await fs.mount('a')).point;
  b = (await fs.mount('b')).point;
});
after(() => fs?.stop());

/** Holds an exclusive flock and an fcntl write lock on bytes 0–99 of argv[1] until stdin closes. */
const HOLDER = `import fcntl, os, sys
f = open(sys.argv[1] + '.flock', 'w')
fcntl.flock(f, fcntl.LOCK_EX)
g = open(sys.argv[1] + '.posix', 'r+')
fcntl.lockf(g, fcntl.LOCK_EX, 100, 0)
print('locked', flush=True)
sys.stdin.read()`;

/** Tries both locks without waiting from another mount; prints what each attempt got. */
const TRY = `import errno, fcntl, sys
out = []
with open(sys.argv[1] + '.flock', 'w') as f:
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        out.append('flock granted')
    except OSError as e:
        out.append('flock ' + errno.errorcode[e.errno])
with open(sys.argv[1] + '.posix', 'r+') as g:
    try:
        fcntl.lockf(g, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 0)
        out.append('posix granted')
    except OSError as e:
        out.append('posix ' + errno.errorcode[e.errno])
print(' '.join(out))`;

test('flock and fcntl locks held on mount A survive kill -9 of the MDS; mount B is refused throughout', async () => {
  await sh(`touch ${a}/l.flock ${a}/l.posix`);
  const holder = hold(['python3', '-c', HOLDER, `${a}/l`]);
  await holder.waitForLine(/locked/, 30_000);
  assert.equal((await py(TRY, [`${b}/l`])).trim(), 'flock EAGAIN posix EAGAIN', 'held before the restart');
  await fs.mds.kill9();
  await fs.mds.start();
  // B asks while the MDS is back and A may not have reconnected yet (recovery), then after A is surely back.
  assert.equal(
    (await py(TRY, [`${b}/l`])).trim(),
    'flock EAGAIN posix EAGAIN',
    'held right after the restart',
  );
  // Once the MDS's recovery window is over (both mounts re-asserted their locks, or it timed out),
  // what A re-asserted is still held.
  const mdsLog = join(fs.dir, 'logs', `${fs.mds.name}.log`);
  await waitFor('the MDS to close its recovery window', async () =>
    (await readFile(mdsLog, 'utf8')).includes('recovery window closed'),
  );
  assert.equal((await py(TRY, [`${b}/l`])).trim(), 'flock EAGAIN posix EAGAIN', 'still held after recovery');
  await holder.release();
  await waitFor(
    'B gets both locks once A let go',
    async () => (await py(TRY, [`${b}/l`])).trim() === 'flock granted posix granted',
    30_000,
  );
});
