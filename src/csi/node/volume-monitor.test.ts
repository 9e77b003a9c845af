// VolumeMonitor over fake commands and mount table (the node's seams): a remount never races a call on the same volume.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { emulatedVolume, fuseMount, STAGING } from '../../../test/csi/node-fixtures.ts';
import type { CommandRunner } from '../../lib/command-runner.ts';
import { logger } from '../../lib/log.ts';
import { waitFor } from '../../lib/wait-for.ts';
import type { Mounter } from './mounter.ts';
import { NodeState } from './node-state.ts';
import { SystemMounts } from './system-mounts.ts';
import { VolumeLocks } from './volume-locks.ts';
import { VolumeMonitor } from './volume-monitor.ts';

const entry = (mountPoint: string) => fuseMount(mountPoint);

/**
 * A staged emulated volume whose FUSE mount is dead and has no keeper: statfs fails with `errno`
 * (stat's own message in another locale); umount takes the mount away. `run` runs a monitor over it
 * until `stop` aborts, counting its passes.
 */
async function deadMount(dir: string, errno: string) {
  const state = new NodeState(dir);
  const rec = emulatedVolume();
  await state.put(rec);
  const f = { state, rec, mounted: true, passes: 0, remounts: [] as string[] };
  const mountTable = async () => (f.mounted ? [entry(STAGING)] : []);
  const runner: CommandRunner = {
    async run(command) {
      if (command === 'stat')
        return { code: 1, stdout: '', stderr: 'stat: Transportendpunkt ist nicht verbunden' };
      if (command === process.execPath) return { code: 0, stdout: errno, stderr: '' };
      if (command === 'umount') f.mounted = false;
      return { code: 0, stdout: '', stderr: '' };
    },
  };
  const fuse: Mounter = {
    fsType: 'fuse.nacre',
    source: () => 'mgs@tcp:/fs',
    async mount(_spec, target) {
      f.remounts.push(target);
    },
  };
  const run = (stop: AbortSignal, locks?: VolumeLocks) =>
    new VolumeMonitor({
      state,
      mounts: new SystemMounts({ runner, mountTable }),
      mountTable,
      mounters: { emulated: fuse, aws: fuse },
      keeperState: async () => undefined,
      intervalMs: 10,
      ...(locks && { locks }),
      log: logger('test'),
      onPass: () => f.passes++,
    }).run(stop);
  return Object.assign(f, { run });
}

describe('VolumeMonitor', () => {
  it('waits for a running unstage of the volume before remounting it, and then does not remount it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nacre-monitor-'));
    const stop = new AbortController();
    try {
      const f = await deadMount(dir, 'ENOTCONN');
      // An unstage in flight: it holds the volume until the monitor asks for it (or would have remounted).
      const unstage = { settled: false, monitorAsked: false };
      const locks = new (class extends VolumeLocks {
        override run<T>(volumeId: string, fn: () => Promise<T>): Promise<T> {
          if (!unstage.settled) unstage.monitorAsked = true;
          return super.run(volumeId, fn);
        }
      })();
      const unstaged = locks.run(f.rec.volumeId, async () => {
        await waitFor('the monitor to reach the volume', () => unstage.monitorAsked || f.remounts.length > 0);
        f.mounted = false;
        await f.state.remove(f.rec.volumeId);
        unstage.settled = true;
      });
      unstage.monitorAsked = false; // that was the unstage itself
      const running = f.run(stop.signal, locks);
      await unstaged;
      await waitFor('a monitor pass after the unstage', () => f.passes >= 2);
      stop.abort();
      await running;
      assert.deepEqual(f.remounts, [], 'the monitor mounted a volume that was being unstaged');
      assert.equal(await f.state.get(f.rec.volumeId), undefined);
    } finally {
      stop.abort();
      await rm(dir, { recursive: true, force: true });
    }
  });

  for (const [errno, restored] of [
    ['ENOTCONN', true],
    ['EIO', false],
  ] as const) {
    it(`a mount without keeper whose statfs fails with ${errno} is ${restored ? '' : 'not '}mounted again, whatever the locale of stat's message`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'nacre-monitor-'));
      const stop = new AbortController();
      try {
        const f = await deadMount(dir, errno);
        const running = f.run(stop.signal);
        await waitFor('two monitor passes', () => f.passes >= 2);
        stop.abort();
        await running;
        assert.equal(f.remounts.length > 0, restored, `remounts: ${f.remounts.join(', ')}`);
      } finally {
        stop.abort();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
