// A caching CSI mount whose FUSE daemon is killed: the daemon that adopts it drops the pages its predecessor cached, so a file changed meanwhile elsewhere is read fresh.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readKeeperState } from '../../src/lustre/fuse/keeper.ts';
import { type FsCluster, type FsMount, startFsCluster } from '../fs/fs-cluster.ts';
import { hold, py, q, shResult, waitFor } from '../fs/shell.ts';
import { MOUNT_RWX, NodePlugin } from './node-plugin.ts';

const VOL = 'static/default/adopted';

/** Keeps the file open read-only and prints what pread returns for each `<off> <len>` line. */
const READER = `import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
print('open', flush=True)
for line in sys.stdin:
    off, n = line.split()
    print(os.pread(fd, int(n), int(off)).decode(), flush=True)`;

describe('a caching keeper mount whose daemon is replaced', { timeout: 300_000 }, () => {
  let cluster: FsCluster;
  let node: NodePlugin;
  let other: FsMount;
  const staging = () => join(node.dir, 'adopt-staging');
  const target = () => join(node.dir, 'adopt-pod', 'mount');

  before(async () => {
    cluster = await startFsCluster({ ossCount: 1 });
    const [dnsName = '', mountName = ''] = cluster.source.split('@tcp:/');
    node = new NodePlugin(cluster.dir, 'node-adopt');
    await node.start();
    const req = {
      volumeId: VOL,
      stagingTargetPath: staging(),
      volumeCapability: MOUNT_RWX,
      volumeContext: { backend: 'emulated', dnsName, mountName, subPath: '' },
    };
    await node.must('NodeStageVolume', req);
    await node.must('NodePublishVolume', { ...req, targetPath: target(), readonly: false });
    other = await cluster.mount('other');
  });

  after(async () => {
    await node?.call('NodeUnpublishVolume', { volumeId: VOL, targetPath: target() });
    await node?.call('NodeUnstageVolume', { volumeId: VOL, stagingTargetPath: staging() });
    await node?.stop();
    await cluster?.stop();
  });

  it('a file overwritten on another mount while the daemon was dead is read fresh through a descriptor kept open', async () => {
    await py(`open(__import__('sys').argv[1], 'wb').write(b'o' * 65536)`, [`${other.point}/f`]);
    const reader = hold(['python3', '-c', READER, join(target(), 'f')]);
    try {
      await reader.waitForLine(/^open$/);
      const ask = async (cmd: string) => {
        const n = reader.lines.length;
        reader.send(`${cmd}\n`);
        await reader.waitForLines(n + 1);
        return reader.lines[n]!;
      };
      assert.equal(await ask('0 65536'), 'o'.repeat(65536), 'read (and cached) before the crash');
      const dir = join(node.stateDir, 'keepers');
      const stateFile = (await readdir(dir)).find((n) => n.endsWith('.json'))!;
      const state = (await readKeeperState(join(dir, stateFile)))!;
      // The keeper held still: the overwrite lands while no daemon serves the mount (the MDS evicts
      // the dead one, which held the read lock, after its callback deadline).
      process.kill(state.keeperPid, 'SIGSTOP');
      try {
        process.kill(state.daemonPid, 'SIGKILL');
        await py(
          `import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.pwrite(fd, b'N' * 4096, 8192)
os.fsync(fd)`,
          [`${other.point}/f`],
        );
      } finally {
        process.kill(state.keeperPid, 'SIGCONT');
      }
      await waitFor(
        'the adopted mount to answer again',
        async () => (await shResult(`stat -f ${q(target())}`, 2_000)).code === 0,
        30_000,
      );
      await waitFor(
        'a new daemon to be ready',
        async () => ((await readKeeperState(join(dir, stateFile)))?.generation ?? 0) > state.generation,
        30_000,
      );
      assert.equal(await ask('8192 4096'), 'N'.repeat(4096), 'the overwrite, not the dead daemon’s pages');
      assert.equal(await ask('0 4'), 'oooo');
    } finally {
      await reader.release();
    }
  });
});
