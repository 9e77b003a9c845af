// An O_APPEND write the MDS granted a range to before its FUSE daemon died is appended once: the kernel resends it to the keeper's next daemon, which asks again under the same mount id and request id.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { readKeeperState } from '../../src/lustre/fuse/keeper.ts';
import { type KeptMount, keptMount, killDaemonWithRequestsAtMds } from './daemon-kill.ts';
import { type FsCluster, startFsCluster } from './fs-cluster.ts';
import { hold } from './shell.ts';

let cluster: FsCluster;
let kept: KeptMount | undefined;
let mnt: string;
let stateFile: string;

/** Opens argv[1] with O_APPEND once, then appends each stdin line through that descriptor and prints `wrote <line>`. */
const APPENDER = `import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
print('open', flush=True)
for line in sys.stdin:
    os.write(fd, line.encode())
    print('wrote ' + line.strip(), flush=True)
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

it('kill -9 of the daemon after the MDS reserved the append: the resent write lands once', {
  timeout: 120_000,
}, async () => {
  const file = join(mnt, 'log');
  const w = hold(['python3', '-c', APPENDER, file]);
  try {
    await w.waitForLine(/^open$/);
    // The first append takes whatever locks the handle needs: the second one asks the MDS for its range only.
    w.send('one\n');
    await w.waitForLine(/^wrote one$/);
    const before = (await readKeeperState(stateFile))!;
    // The daemon dies with the reservation sent but unanswered: the MDS grants the range when it runs again.
    await killDaemonWithRequestsAtMds(cluster, stateFile, () => {
      w.send('two\n');
      return [w.pid];
    });
    await w.waitForLine(/^wrote two$/, 60_000);
    w.send('three\n');
    await w.waitForLine(/^wrote three$/, 30_000);
    assert.equal(await readFile(file, 'utf8'), 'one\ntwo\nthree\n');
    const after = (await readKeeperState(stateFile))!;
    assert.equal(after.mountId, before.mountId, 'the mount keeps its id across daemons');
  } finally {
    await w.release(10_000);
  }
});
