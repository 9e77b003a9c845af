// nodeService over fake mount commands, mount table and mounter (the node's seams): what a failed NodeStageVolume leaves, what NodeGetVolumeStats answers.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { emulatedVolume, fuseMount, keeperStatus, STAGING } from '../../../test/csi/node-fixtures.ts';
import type { CommandRunner } from '../../lib/command-runner.ts';
import { NacreError } from '../../lib/errors.ts';
import { logger } from '../../lib/log.ts';
import type { KeeperStatus } from '../holder/holder-protocol.ts';
import type { Mounter } from './mounter.ts';
import { nodeService } from './node-service.ts';
import { NodeState } from './node-state.ts';
import { SystemMounts } from './system-mounts.ts';
import { VolumeMonitor } from './volume-monitor.ts';

describe('nodeService NodeStageVolume', () => {
  it('a mount that fails leaves no volume record behind, so health and metrics do not count it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nacre-node-'));
    try {
      const state = new NodeState(join(dir, 'state'));
      const mountTable = async () => [];
      const runner: CommandRunner = { run: async () => ({ code: 0, stdout: '', stderr: '' }) };
      const mounts = new SystemMounts({ runner, mountTable });
      const failing: Mounter = {
        fsType: 'fuse.nacre',
        source: () => 'mgs@tcp:/fs',
        mount: async () => {
          throw new NacreError('MountFailed', 'mounting mgs@tcp:/fs failed: connection refused');
        },
      };
      const log = logger('test');
      const mounters = { emulated: failing, aws: failing };
      const monitor = new VolumeMonitor({
        state,
        mounts,
        mountTable,
        mounters,
        keeperState: async () => undefined,
        log,
      });
      const node = nodeService({ nodeId: 'n1', state, mounts, mountTable, mounters, monitor, log });
      const stage = node.NodeStageVolume;
      assert.ok(stage);
      await assert.rejects(
        stage(
          {
            volumeId: 'static/default/fs',
            stagingTargetPath: join(dir, 'staging'),
            volumeCapability: {
              mount: { fsType: '', mountFlags: [], volumeMountGroup: '' },
              accessMode: { mode: 'MULTI_NODE_MULTI_WRITER' },
            },
            volumeContext: { dnsName: 'mgs', mountName: 'fs' },
          } as unknown as Parameters<typeof stage>[0],
          { signal: AbortSignal.timeout(5_000) },
        ),
        /connection refused/,
      );
      assert.deepEqual(await state.list(), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('nodeService NodeGetVolumeStats', () => {
  const TARGET = '/kubelet/pods/p1/volumes/v1/mount';
  const entry = (mountPoint: string, id: number) => fuseMount(mountPoint, { id, parentId: 1 });

  /** A node with one emulated volume staged and published, whose probes end as `probe` says, its keeper in state `keeper`. */
  async function node(probe: 'ok' | 'ENOTCONN', keeper: Partial<KeeperStatus> = {}) {
    const dir = await mkdtemp(join(tmpdir(), 'nacre-node-'));
    const state = new NodeState(join(dir, 'state'));
    await state.put(
      emulatedVolume({ volumeId: 'v1', targets: { [TARGET]: { readOnly: false, subPath: '' } } }),
    );
    const mountTable = async () => [entry(STAGING, 2), entry(TARGET, 3)];
    const commands: string[] = [];
    const runner: CommandRunner = {
      run: async (command) => {
        commands.push(command);
        if (probe === 'ok') return { code: 0, stdout: '4096 100 50 40 1000 900', stderr: '' };
        return command === 'stat'
          ? { code: 1, stdout: '', stderr: `stat: cannot read file system information for '${TARGET}'` }
          : { code: 0, stdout: 'ENOTCONN', stderr: '' };
      },
    };
    const mounts = new SystemMounts({ runner, mountTable });
    const log = logger('test');
    const fuse = {} as Mounter;
    const mounters = { emulated: fuse, aws: fuse };
    const status = keeperStatus(keeper);
    const keeperState = async () => status;
    const monitor = new VolumeMonitor({ state, mounts, mountTable, mounters, keeperState, log });
    const svc = nodeService({ nodeId: 'n1', state, mounts, mountTable, mounters, monitor, log });
    const stats = svc.NodeGetVolumeStats;
    assert.ok(stats);
    const call = (volumePath: string) =>
      stats({ volumeId: 'v1', volumePath } as Parameters<typeof stats>[0], {
        signal: AbortSignal.timeout(5_000),
      });
    return { call, commands, done: () => rm(dir, { recursive: true, force: true }) };
  }

  it('a probe that works: bytes and inodes, for the staging path and a published target', async () => {
    const n = await node('ok');
    try {
      for (const path of [STAGING, TARGET]) {
        const r = await n.call(path);
        assert.deepEqual(
          r.usage?.map((u) => [u.unit, Number(u.total)]),
          [
            ['BYTES', 409600],
            ['INODES', 1000],
          ],
        );
      }
    } finally {
      await n.done();
    }
  });

  it('a probe that fails: UNAVAILABLE with what statfs said, never OK without numbers', async () => {
    const n = await node('ENOTCONN');
    try {
      await assert.rejects(n.call(TARGET), (err: NacreError) => {
        assert.equal(err.code, 'Unavailable');
        assert.match(err.message, /cannot read the usage of volume v1 at \S+mount: stat: cannot read/);
        return true;
      });
    } finally {
      await n.done();
    }
  });

  it('a stopped FUSE daemon: UNAVAILABLE naming it, without a probe that would wait on it', async () => {
    const n = await node('ok', { daemonStopped: true });
    try {
      await assert.rejects(n.call(STAGING), (err: NacreError) => {
        assert.equal(err.code, 'Unavailable');
        assert.match(err.message, /FUSE daemon \(pid 200\) is stopped/);
        return true;
      });
      assert.deepEqual(n.commands, [], 'no probe');
    } finally {
      await n.done();
    }
  });
});
