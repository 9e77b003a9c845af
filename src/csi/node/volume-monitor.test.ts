// VolumeMonitor over fake commands and mount table (the node's seams): a remount never races a call on the same volume.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { CommandRunner } from '../../lib/command-runner.ts';
import { logger } from '../../lib/log.ts';
import { waitFor } from '../../lib/wait-for.ts';
import type { Mounter } from './mounter.ts';
import type { MountEntry } from './mountinfo.ts';
import { NodeState, type VolumeRecord } from './node-state.ts';
import { SystemMounts } from './system-mounts.ts';
import { VolumeLocks } from './volume-locks.ts';
import { VolumeMonitor } from './volume-monitor.ts';

const STAGING = '/kubelet/staging/v1';
const entry = (mountPoint: string): MountEntry => ({
  id: 1,
  parentId: 0,
  device: '0:99',
  root: '/',
  mountPoint,
  options: ['rw'],
  fsType: 'fuse.nacre',
  source: 'mgs@tcp:/fs',
  superOptions: [],
});

describe('VolumeMonitor', () => {
  it('waits for a running unstage of the volume before remounting it, and then does not remount it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nacre-monitor-'));
    const stop = new AbortController();
    try {
      const state = new NodeState(dir);
      const rec: VolumeRecord = {
        volumeId: 'static/default/fs',
        backend: 'emulated',
        stagingPath: STAGING,
        source: 'mgs@tcp:/fs',
        dnsName: 'mgs',
        mountName: 'fs',
        options: [],
        targets: {},
      };
      await state.put(rec);
      // A dead FUSE mount with no keeper: statfs fails with ENOTCONN (stat's message in another locale), umount takes it away.
      let mounted = true;
      const mountTable = async () => (mounted ? [entry(STAGING)] : []);
      const runner: CommandRunner = {
        async run(command) {
          if (command === 'stat')
            return { code: 1, stdout: '', stderr: 'stat: Transportendpunkt ist nicht verbunden' };
          if (command === process.execPath) return { code: 0, stdout: 'ENOTCONN', stderr: '' };
          if (command === 'umount') mounted = false;
          return { code: 0, stdout: '', stderr: '' };
        },
      };
      const remounts: string[] = [];
      const fuse: Mounter = {
        fsType: 'fuse.nacre',
        source: () => 'mgs@tcp:/fs',
        async mount(_spec, target) {
          remounts.push(target);
        },
      };
      // An unstage in flight: it holds the volume until the monitor asks for it (or would have remounted).
      const unstage = { settled: false, monitorAsked: false };
      const locks = new (class extends VolumeLocks {
        override run<T>(volumeId: string, fn: () => Promise<T>): Promise<T> {
          if (!unstage.settled) unstage.monitorAsked = true;
          return super.run(volumeId, fn);
        }
      })();
      const unstaged = locks.run(rec.volumeId, async () => {
        await waitFor('the monitor to reach the volume', () => unstage.monitorAsked || remounts.length > 0);
        mounted = false;
        await state.remove(rec.volumeId);
        unstage.settled = true;
      });
      unstage.monitorAsked = false; // that was the unstage itself
      let passes = 0;
      const running = new VolumeMonitor({
        state,
        mounts: new SystemMounts({ runner, mountTable }),
        mountTable,
        mounters: { emulated: fuse, aws: fuse },
        keeperState: async () => undefined,
        intervalMs: 10,
        locks,
        log: logger('test'),
        onPass: () => passes++,
      }).run(stop.signal);
      await unstaged;
      await waitFor('a monitor pass after the unstage', () => passes >= 2);
      stop.abort();
      await running;
      assert.deepEqual(remounts, [], 'the monitor mounted a volume that was being unstaged');
      assert.equal(await state.get(rec.volumeId), undefined);
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
        const state = new NodeState(dir);
        await state.put({
          volumeId: 'static/default/fs',
          backend: 'emulated',
          stagingPath: STAGING,
          source: 'mgs@tcp:/fs',
          dnsName: 'mgs',
          mountName: 'fs',
          options: [],
          targets: {},
        });
        const mountTable = async () => [entry(STAGING)];
        const runner: CommandRunner = {
          async run(command) {
            if (command === 'stat') return { code: 1, stdout: '', stderr: 'stat: Fehler (ungültig)' };
            if (command === process.execPath) return { code: 0, stdout: errno, stderr: '' };
            return { code: 0, stdout: '', stderr: '' };
          },
        };
        const remounts: string[] = [];
        const fuse: Mounter = {
          fsType: 'fuse.nacre',
          source: () => 'mgs@tcp:/fs',
          async mount(_spec, target) {
            remounts.push(target);
          },
        };
        let passes = 0;
        const running = new VolumeMonitor({
          state,
          mounts: new SystemMounts({ runner, mountTable }),
          mountTable,
          mounters: { emulated: fuse, aws: fuse },
          keeperState: async () => undefined,
          intervalMs: 10,
          log: logger('test'),
          onPass: () => passes++,
        }).run(stop.signal);
        await waitFor('two monitor passes', () => passes >= 2);
        stop.abort();
        await running;
        assert.equal(remounts.length > 0, restored, `remounts: ${remounts.join(', ')}`);
      } finally {
        stop.abort();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
