// VolumeMonitor.check from the keeper's state: a dead or stopped FUSE daemon is reported without a probe that would wait on it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emulatedVolume, fuseMount, keeperStatus, STAGING } from '../../../test/csi/node-fixtures.ts';
import type { CommandRunner } from '../../lib/command-runner.ts';
import { logger } from '../../lib/log.ts';
import type { KeeperStatus } from '../holder/holder-protocol.ts';
import type { Mounter } from './mounter.ts';
import { NodeState } from './node-state.ts';
import { SystemMounts } from './system-mounts.ts';
import { VolumeMonitor } from './volume-monitor.ts';

const rec = emulatedVolume();
const entry = fuseMount(STAGING);
const keeper = keeperStatus;

/** A monitor over a keeper in state `k` whose probes would succeed; counts the probes. */
function monitor(k: KeeperStatus) {
  const probes = { count: 0 };
  const runner: CommandRunner = {
    async run() {
      probes.count++;
      return { code: 0, stdout: '4096 100 50 40 1000 900', stderr: '' };
    },
  };
  const mountTable = async () => [entry];
  const fuse = {} as Mounter;
  const m = new VolumeMonitor({
    state: new NodeState('/nonexistent'),
    mounts: new SystemMounts({ runner, mountTable }),
    mountTable,
    mounters: { emulated: fuse, aws: fuse },
    keeperState: async () => k,
    log: logger('test'),
  });
  return { check: () => m.check(rec, AbortSignal.timeout(5_000)), probes };
}

describe('VolumeMonitor.check from the keeper state', () => {
  it('a stopped daemon: inaccessible, naming it, without a probe', async () => {
    const f = monitor(keeper({ daemonStopped: true }));
    const h = await f.check();
    assert.equal(h.ok, false);
    assert.equal(h.ok ? '' : h.reason, 'DaemonStopped');
    assert.match(h.ok ? '' : h.message, /FUSE daemon \(pid 200\) is stopped/);
    assert.equal(f.probes.count, 0);
  });

  it('a dead daemon whose keeper is stopped: restarting, saying nothing replaces it yet, without a probe', async () => {
    const f = monitor(keeper({ daemonAlive: false, keeperStopped: true }));
    const h = await f.check();
    assert.equal(h.ok ? '' : h.reason, 'DaemonRestarting');
    assert.match(
      h.ok ? '' : h.message,
      /FUSE daemon \(pid 200\) of \S+ died; its keeper \(pid 100\) is stopped/,
    );
    assert.equal(f.probes.count, 0);
  });

  it('daemon and keeper running: the mount is probed and healthy', async () => {
    const f = monitor(keeper({}));
    assert.deepEqual(await f.check(), { ok: true });
    assert.equal(f.probes.count, 1);
  });
});
